// The session's documents as a UI sees them, kept current from the Repo's events: the path of each
// document (an index rebuilt by walking the tree only after a directory changed), its size (saved only
// when its heads moved) and whether a connected peer has our heads. Answers keyed queries (one
// document, one peer) without building a snapshot; the Session batches its own `changed` event.
import { Automerge, type DocHandle, type DocumentId, type Repo } from '@automerge/automerge-repo/slim'
import type { DocTree } from '../../shared/vfs/doc-tree'
import type { Logger } from '../../shared/log'
import type { PeerInfo } from '../net/iroh-adapter'
import { sameHeads } from '../util/heads'
import { firstLine } from '../util/text'
import type { DocChangedEvent, DocSyncState, DocumentSnapshot } from './types'

export interface DocumentViewEvents {
  /** A loaded document changed (here or from a peer), with its path when known. */
  docChanged(event: DocChangedEvent): void
  /** Something a snapshot shows moved (a change, or a peer's heads). */
  changed(): void
  /** A document was changed here, by this actor (history/own-actors.ts keeps it). */
  ownActor(actor: string): void
}

export class DocumentView {
  private readonly watched = new WeakSet<DocHandle<unknown>>()
  /** Handles whose actor has made a local change (told once per handle). */
  private readonly wroteHere = new WeakSet<DocHandle<unknown>>()
  private pathsByDocId = new Map<string, { path: string; type: 'doc' | 'dir' }>()
  private pathsStale = true
  private readonly sizes = new Map<string, { key: string; size: number }>()

  constructor(
    private readonly repo: Repo,
    private readonly tree: DocTree,
    private readonly rootDocumentId: string,
    private readonly log: Logger,
    private readonly on: DocumentViewEvents,
  ) {
    this.watchRepo()
  }

  /** Every document of the tree with its path, heads and size. */
  async documents(): Promise<DocumentSnapshot[]> {
    await this.refreshPaths()
    return [...this.pathsByDocId].map(([documentId, { path, type }]) => {
      const handle = this.repo.handles[documentId as DocumentId]
      const heads = handle?.isReady() ? handle.heads() ?? [] : []
      return { documentId, url: `automerge:${documentId}`, path, type, heads, size: handle?.isReady() ? this.sizeOf(handle, heads) : undefined }
    })
  }

  /** A document's path in the tree, from the path index (walked again only when the tree changed). */
  async pathOf(url: string): Promise<string | undefined> {
    await this.refreshPaths()
    return this.pathsByDocId.get(url.replace(/^automerge:/, ''))?.path
  }

  /** Whether a connected peer has our heads of one document ('unknown' if not loaded or not connected). */
  syncOf(documentId: string, peer: PeerInfo): DocSyncState {
    const handle = this.repo.handles[documentId as DocumentId]
    return handle?.isReady() ? this.syncOfHandle(handle, peer) : 'unknown'
  }

  /** Per loaded document: whether `peer` has our heads ({} for a peer that is not connected). */
  peerDocStates(peer: PeerInfo): Record<string, DocSyncState> {
    if (!peer.peerId || peer.state !== 'connected') return {}
    const states: Record<string, DocSyncState> = {}
    for (const handle of Object.values(this.repo.handles)) {
      if (handle.isReady()) states[handle.documentId] = this.syncOfHandle(handle, peer)
    }
    return states
  }

  private watchRepo(): void {
    const announce = (handle: DocHandle<unknown>) => {
      // A handle still loading or being requested from a peer has no heads yet (heads() throws).
      if (!handle.isReady()) return
      const known = this.pathsByDocId.get(handle.documentId)
      // A directory changed, or a document we cannot place yet: the path index is stale.
      if (!known || known.type === 'dir') this.pathsStale = true
      if (!this.wroteHere.has(handle)) {
        // A change made here (the handle's actor wrote it) rather than one synced in: cheap for the latter.
        const doc = handle.doc()
        if (Automerge.getLastLocalChange(doc)) {
          this.wroteHere.add(handle)
          this.on.ownActor(Automerge.getActorId(doc))
        }
      }
      this.on.docChanged({ documentId: handle.documentId, url: handle.url, path: known?.path, heads: handle.heads() ?? [] })
      this.on.changed()
    }
    const watch = (handle: DocHandle<unknown> | undefined) => {
      if (!handle || this.watched.has(handle)) return
      this.watched.add(handle)
      handle.on('change', () => announce(handle))
      handle.on('remote-heads', () => this.on.changed())
      // Created or first loaded before we saw it: that is a change too.
      if (handle.isReady()) announce(handle)
    }
    for (const handle of Object.values(this.repo.handles)) watch(handle)
    // automerge-repo 2.5 declares but no longer emits a 'document' event; every document that is loaded,
    // saved or synced shows up in its metrics, which is where new handles are noticed.
    this.repo.on('doc-metrics', (e) => {
      if ('documentId' in e && e.documentId) watch(this.repo.handles[e.documentId as DocumentId])
    })
  }

  /** Walks the tree again when it changed since the last walk: the path index behind documents() and pathOf(). */
  private async refreshPaths(): Promise<void> {
    if (!this.pathsStale) return
    this.pathsStale = false
    const index = new Map<string, { path: string; type: 'doc' | 'dir' }>()
    index.set(this.rootDocumentId, { path: '/', type: 'dir' })
    try {
      for (const e of await this.tree.walk()) index.set(e.url.replace(/^automerge:/, ''), { path: e.path, type: e.type })
    } catch (err) {
      this.pathsStale = true
      this.log.debug(`session: walking the directory tree failed: ${firstLine(err)}`)
    }
    this.pathsByDocId = index
  }

  /** Saving a document is not free: sizes are cached per document and recomputed only when heads move. */
  private sizeOf(handle: DocHandle<unknown>, heads: string[]): number {
    const key = heads.join(',')
    const cached = this.sizes.get(handle.documentId)
    if (cached?.key === key) return cached.size
    const size = Automerge.save(handle.doc() as Automerge.Doc<unknown>).byteLength
    this.sizes.set(handle.documentId, { key, size })
    return size
  }

  /** Whether `peer` has our heads of one loaded document (its last heads as the Repo knows them). */
  private syncOfHandle(handle: DocHandle<unknown>, peer: PeerInfo): DocSyncState {
    if (!peer.peerId || peer.state !== 'connected') return 'unknown'
    const storageId = this.repo.getStorageIdOfPeer(peer.peerId)
    const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined
    if (!theirs) return 'unknown'
    return sameHeads(handle.heads() ?? [], theirs) ? 'in-sync' : 'behind'
  }
}
