// The Documents view as data: the bundle's directory tree (paths from the root directory document), per
// document its heads and sync state with each connected peer. Clicking a document opens the inspector.
import type { DocSyncState, DocumentSnapshot, SessionSnapshot } from '../../core/session/session'
import { shortId } from '../../core/util/text'
import { formatBytes, SnapshotModel, md, type ViewNode } from './nodes'

/** Argument of tonk.openDocumentInspector (also what a row's click passes). */
export interface DocumentRef {
  url: string
  path: string
  /** The session the row belongs to ('' with one session running). */
  sessionId?: string
}

export interface DocumentNode extends ViewNode {
  ref: DocumentRef
  type: 'doc' | 'dir'
}

export class DocumentsModel extends SnapshotModel {
  /** Documents by path (tests read it). */
  documents(): DocumentSnapshot[] {
    return this.snapshot?.documents ?? []
  }

  /**
   * One row for the root directory '/', open, its tree below: the view shows the bundle the moment the
   * session runs, before any other document has loaded.
   */
  protected rootsOf(snap: SessionSnapshot, sessionId: string): ViewNode[] {
    const rootDoc = snap.documents.find((d) => d.path === '/')
    const children = this.tree(snap, sessionId)
    const root: DocumentNode = rootDoc
      ? this.node(rootDoc, snap.peers.filter((p) => p.state === 'connected'), sessionId)
      : { id: 'dir:/', label: '/', ref: { url: '', path: '/', sessionId }, type: 'dir', contextValue: 'tonk.dir', icon: { id: 'root-folder' } }
    root.label = '/'
    root.icon = { id: 'root-folder' }
    root.expanded = true
    root.children = children
    root.description = [`${snap.bundle.name} root`, `${children.length} item${children.length === 1 ? '' : 's'}`].join(' · ')
    return [root]
  }

  /** The root directory's children (rows for everything under '/'). */
  private tree(snap: SessionSnapshot, sessionId: string): ViewNode[] {
    const connected = snap.peers.filter((p) => p.state === 'connected')
    const byPath = new Map<string, DocumentNode>()
    const childrenOf = new Map<string, DocumentNode[]>()
    const add = (parent: string, node: DocumentNode) => {
      const list = childrenOf.get(parent) ?? []
      list.push(node)
      childrenOf.set(parent, list)
    }
    const docs = snap.documents.filter((d) => d.path !== '/').sort((a, b) => a.path.localeCompare(b.path))
    for (const d of docs) byPath.set(d.path, this.node(d, connected, sessionId))
    // A path whose parent directory is not in the snapshot (not walked yet) still gets a folder row.
    const ensureDir = (path: string): void => {
      if (path === '/' || byPath.has(path)) return
      byPath.set(path, {
        id: `dir:${path}`,
        label: basename(path),
        ref: { url: '', path, sessionId },
        type: 'dir',
        contextValue: 'tonk.dir',
        icon: { id: 'folder' },
        description: 'not loaded yet',
        // Same id as the loaded directory later: VS Code keeps the state it first saw, so open it now.
        expanded: true,
      })
      ensureDir(parentOf(path))
    }
    for (const d of docs) ensureDir(parentOf(d.path))
    for (const [path, node] of byPath) add(parentOf(path), node)
    const sortChildren = (list: DocumentNode[]) =>
      list.sort((a, b) => (a.type === b.type ? a.label.localeCompare(b.label) : a.type === 'dir' ? -1 : 1))
    for (const [path, node] of byPath) {
      if (node.type !== 'dir') continue
      const kids = sortChildren(childrenOf.get(path) ?? [])
      node.children = kids
      node.description = [node.description, `${kids.length} item${kids.length === 1 ? '' : 's'}`].filter(Boolean).join(' · ')
    }
    return sortChildren(childrenOf.get('/') ?? [])
  }

  private node(d: DocumentSnapshot, connected: SessionSnapshot['peers'], sessionId: string): DocumentNode {
    const states = connected.map((p) => ({ name: p.name ?? shortId(p.endpointId, 10), state: p.docs[d.documentId] ?? ('unknown' as DocSyncState) }))
    const inSync = states.filter((s) => s.state === 'in-sync').length
    const sync = connected.length === 0 ? 'no peers' : `in sync with ${inSync}/${connected.length}`
    const heads = d.heads.map((h) => h.slice(0, 8)).join(',')
    const ref = { url: d.url, path: d.path, sessionId }
    const tooltip = [
      `**${md(d.path)}** (${d.type === 'dir' ? 'directory' : 'document'})`,
      '',
      `\`${d.url}\``,
      '',
      `heads: ${d.heads.length ? d.heads.map((h) => `\`${h}\``).join(', ') : 'none (not loaded)'}`,
      ...(d.size !== undefined ? [`size: ${d.size} bytes saved`] : []),
      ...(states.length ? ['', ...states.map((s) => `- ${md(s.name)}: ${s.state}`)] : []),
    ].join('\n')
    const behind = states.some((s) => s.state === 'behind')
    return {
      id: `${d.type}:${d.path}`,
      label: basename(d.path),
      // A document listed in a directory but not loaded here has no heads (nor a sync state) yet.
      description: d.type === 'doc' ? (d.heads.length ? `${heads} · ${d.size === undefined ? '' : `${formatBytes(d.size)} · `}${sync}` : 'not loaded here yet') : undefined,
      tooltip,
      ref,
      type: d.type,
      contextValue: d.type === 'doc' ? 'tonk.doc' : 'tonk.dir',
      icon: d.type === 'dir' ? { id: 'folder' } : behind ? { id: 'json', color: 'list.warningForeground' } : { id: 'json' },
      // A directory opens too (read-only in the inspector: its entries are the tree's bookkeeping).
      command: { command: 'tonk.openDocumentInspector', title: d.type === 'doc' ? 'Open Document Inspector' : 'Inspect Directory Document', arguments: [ref] },
      expanded: d.type === 'dir' ? true : undefined,
    }
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i <= 0 ? '/' : path.slice(0, i)
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1) || path
}
