// What a tree row shows, independent of VS Code: the view-models build these from a session snapshot and
// tree.ts turns them into TreeItems. Plain data, so the models are unit-tested without an editor.
import type { SessionSnapshot } from '../../core/session/session'

export interface ViewNode {
  /** Stable across refreshes (VS Code keeps expansion and selection by id). */
  id: string
  label: string
  description?: string
  /** Markdown. */
  tooltip?: string
  contextValue?: string
  /** A codicon id, optionally with a theme color id. */
  icon?: { id: string; color?: string }
  /** Runs when the row is clicked. */
  command?: { command: string; title: string; arguments?: unknown[] }
  children?: ViewNode[]
  /** Open by default (only the first time VS Code sees the id). */
  expanded?: boolean
}

export interface ViewModel {
  roots(): ViewNode[]
  /** Called after every update; a tree provider fires its change event from it. */
  onChange(listener: () => void): () => void
}

/** A tiny listener list for the models (they must not depend on vscode.EventEmitter). */
export class Listeners {
  private readonly list = new Set<() => void>()
  add(listener: () => void): () => void {
    this.list.add(listener)
    return () => this.list.delete(listener)
  }
  fire(): void {
    for (const l of [...this.list]) l()
  }
}

/** One running session's snapshot, named by the session's id (session-manager.ts). */
export interface SessionGroup {
  sessionId: string
  snapshot: SessionSnapshot
}

/**
 * A view-model fed session snapshots: keeps the latest and tells its tree provider on every update.
 * With one session the rows are that session's; with several, each bundle gets a top-level row and its
 * rows below (ids prefixed by the session's, so two bundles' rows never share an id).
 */
export abstract class SnapshotModel implements ViewModel {
  /** The active session's snapshot (the first group's when none is named active). */
  protected snapshot: SessionSnapshot | undefined
  private groups: SessionGroup[] = []
  private readonly listeners = new Listeners()

  /** One session (tests, and the single-session case). */
  update(snapshot: SessionSnapshot | undefined): void {
    this.updateAll(snapshot ? [{ sessionId: '', snapshot }] : [])
  }

  updateAll(groups: SessionGroup[], activeId?: string): void {
    this.groups = groups
    this.snapshot = (groups.find((g) => g.sessionId === activeId) ?? groups[0])?.snapshot
    this.listeners.fire()
  }

  onChange(listener: () => void): () => void {
    return this.listeners.add(listener)
  }

  roots(): ViewNode[] {
    if (this.groups.length === 1) return this.rootsOf(this.groups[0]!.snapshot, this.groups[0]!.sessionId)
    return this.groups.map(({ sessionId, snapshot }) => {
      const connected = snapshot.peers.filter((p) => p.state === 'connected').length
      const state = snapshot.state !== 'running' ? snapshot.state : !snapshot.online ? 'offline' : `${connected} peer${connected === 1 ? '' : 's'}`
      const node: ViewNode & { sessionId: string } = {
        id: `session:${sessionId}`,
        sessionId,
        label: `${snapshot.bundle.name}@${snapshot.bundle.version}`,
        description: `${state} · ${snapshot.peerName}`,
        tooltip: `**${md(snapshot.bundle.name)}@${md(snapshot.bundle.version)}**: its own P2P session (own endpoint \`${snapshot.endpointId ?? ''}\`, data, peers)`,
        contextValue: 'tonk.session',
        icon: { id: 'package' },
        expanded: true,
        children: prefixIds(this.rootsOf(snapshot, sessionId), `${sessionId}/`),
      }
      return node
    })
  }

  /** The rows of one session; every row that a command takes carries `sessionId`. */
  protected abstract rootsOf(snapshot: SessionSnapshot, sessionId: string): ViewNode[]
}

function prefixIds(nodes: ViewNode[], prefix: string): ViewNode[] {
  for (const node of nodes) {
    node.id = prefix + node.id
    if (node.children) prefixIds(node.children, prefix)
  }
  return nodes
}


export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`
  return `${(n / 1024 ** 3).toFixed(2)} GB`
}

export function formatAgo(at: number | undefined, now: number): string {
  if (!at) return 'never'
  const s = Math.max(0, Math.round((now - at) / 1000))
  if (s < 2) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  return `${Math.floor(s / 3600)} h ago`
}

/** Markdown-escapes text from peers (names are chosen by the remote side). */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')
}
