// Bulk catch-up ("tonk/bulk"): a peer that lacks documents gets them as saved documents in a few large
// frames, instead of three sync messages each way per document. automerge-repo's per-document sync (a
// DocSynchronizer and a state machine per document) is the floor of a fresh fetch: 1,000 small
// documents take ~1.9 s in one process with no disk and no network; importing saved bytes ~0.9 s.
//
// Protocol (CBOR frames on the existing connection, only to peers whose hello lists 'bulk'; names and
// version in ../registry.ts):
//   {type: 'tonk/bulk-want', have: [[documentId, heads[]], ...], more?: true}
//     sent once per connection: the ready documents we hold and their heads (hex, as Automerge.getHeads).
//     A long list is split over several frames; all but the last carry `more: true`.
//   {type: 'tonk/bulk-docs', docs: [[documentId, bytes], ...]}
//     the answer: for each ready document of ours whose heads differ, what the peer lacks
//     (Automerge.saveSince of its heads when we hold them all, else Automerge.save), ~1 MiB per frame.
//     A peer whose hello also lists 'bulk-empty' gets this at once, without a want.
// Normal automerge-repo sync keeps running alongside and is what guarantees convergence; bulk only gets
// documents ready sooner, so anything it cannot do cheaply or safely (a document still loading from
// storage, one larger than a frame, bytes that do not parse) it leaves to sync. docs/discovery.md has more.
//
// What a received frame may make us store is bounded (bulk-accept.ts): documents we hold, asked for or
// reach from our tree, and at most so many per peer per minute. Senders list directories first, parents
// before children, so a receiver meets a directory before the documents it points at.
//
// Rooms: frames.ts (constants, frame reading and packing: pure), receiver.ts (applying what arrives),
// accept.ts (what a frame may make us store), this file (wiring, our want, serving a peer's want).
// Bulk sees the transport only as an ExtensionChannel (net/extension-channel.ts).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { Automerge, type DocumentId, type Message, type PeerId, type Repo, type StorageAdapterInterface } from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../../../shared/log'
import { dirChildIds, treeOrder } from './accept'
import type { ExtensionChannel } from '../../net/extension-channel'
import type { PeerInfo } from '../../net/types'
import { BULK } from '../registry'
import {
  BULK_DOCS_TYPE,
  BULK_EMPTY_FEATURE,
  BULK_FEATURE,
  BULK_WANT_TYPE,
  DocFramePacker,
  DOCS_FRAME_BYTES,
  emptyCounters,
  MAX_DOCS_PER_MINUTE,
  MAX_HEADS,
  MAX_WANT_ENTRIES,
  MAX_WANT_TOTAL,
  planDoc,
  readWantFrame,
  wantFrames,
  type BulkCounters,
  type DocEntry,
  type WantEntry,
} from './frames'
import { BulkReceiver } from './receiver'
import { sliceBudgetMs } from './slices'
import { firstLine } from '../../util/text'

export * from './frames'

/** Our write queue to a peer is kept under this while sending (the writer refuses past its hard limit). */
const SEND_QUEUE_BYTES = 4 * 1024 * 1024
/** Documents whose share policy is asked at once. */
const SHARE_BATCH = 1000
/** Longest the Repo's messages to a peer wait for our frames to it. */
const SERVE_HOLD_MS = 10_000

/** Settles when `p` does, or after `ms`. */
const withinMs = (p: Promise<unknown>, ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    p.finally(() => (clearTimeout(timer), resolve())).catch(() => {})
  })

export interface BulkSyncOptions {
  logger?: Logger
  /** Target docs frame size (default 1 MiB). */
  frameBytes?: number
  /**
   * Called once, when the first docs frame arrives: a peer that said BULK_EMPTY_FEATURE in its hello
   * stops saying so (later connections should not push everything again).
   */
  onFirstDocs?: () => void
  /** Documents a peer may have applied per minute (default MAX_DOCS_PER_MINUTE). */
  maxDocsPerMinute?: number
  /** Budget of one slice of applying a received frame, in ms (slices.ts; 0: whole frames). */
  applySliceMs?: number
}


interface PeerState {
  /** Changes on every connection, so work for an earlier one stops. */
  readonly epoch: number
  /** Want entries received so far (a want may span frames). */
  incoming: Map<DocumentId, string[]> | undefined
  /** One want is served per connection: a peer asking again would make us save everything again. */
  served: boolean
  /** We pushed everything on connect (the peer said it was empty); its want is then moot. */
  pushed: boolean
  /** Our want is sent once per connection, when the Repo is there. */
  wantSent: boolean
}

/**
 * Sends our want to each connected peer that speaks bulk, answers their wants, applies the documents
 * they send. Created with the adapter (peers can connect while storage loads); `attach()` hands it the
 * Repo, and what arrived before is handled then.
 *
 * Order is what makes it fast, so start it before the Repo exists: its listeners on the adapter's
 * 'peer-candidate' and 'message' then run before the Repo's (listeners run in the order added).
 * - A new peer that says it is empty gets our documents pushed at once, before the Repo has sent it any
 *   sync message; the documents reach it first, and it answers each sync message with the document in
 *   hand (one round trip) instead of asking for all of it (three).
 * - A sync message for a document that arrived in bulk but is not applied yet applies it first.
 * - Our want is queued ahead of the Repo's own messages to the peer.
 */
export class BulkSync {
  readonly counters: BulkCounters = emptyCounters()
  private readonly log: Logger
  private readonly frameBytes: number
  private repo: Repo | undefined
  private readonly peers = new Map<string, PeerState>()
  /** Wants (or pushes) that arrived before the Repo. */
  private readonly waitingWants = new Map<string, Map<DocumentId, string[]>>()
  private epochs = 0
  private stopped = false
  private readonly receiver: BulkReceiver
  /** Whether frames are applied in slices here (slices.ts): then our pushes hold the Repo back too. */
  private readonly pushSliced: boolean
  private readonly unsubscribe: (() => void)[] = []

  constructor(
    private readonly channel: ExtensionChannel,
    options: BulkSyncOptions = {},
  ) {
    this.log = options.logger ?? noopLogger
    this.frameBytes = Math.min(options.frameBytes ?? DOCS_FRAME_BYTES, channel.maxFrameBytes)
    this.pushSliced = (options.applySliceMs ?? sliceBudgetMs()) > 0
    this.receiver = new BulkReceiver({
      log: this.log,
      counters: this.counters,
      maxDocsPerMinute: options.maxDocsPerMinute ?? MAX_DOCS_PER_MINUTE,
      peerPresent: (endpointId) => this.peers.has(endpointId),
      onFirstDocs: options.onFirstDocs,
      sliceMs: options.applySliceMs,
      holdReading: (endpointId, until) => channel.holdReading(endpointId, until),
    })
  }

  start(): void {
    const { channel } = this
    this.unsubscribe.push(
      channel.onPeerAnnounced((peerId) => {
        const peer = channel.peers().find((p) => p.peerId === peerId && p.state === 'connected')
        if (peer) this.onConnected(peer)
      }),
      channel.onRepoMessage((m: Message) => this.receiver.onRepoMessage(m)),
      channel.onPeerLeft((endpointId) => {
        this.peers.delete(endpointId)
        this.waitingWants.delete(endpointId)
        this.receiver.dropParked(endpointId, 'it left')
      }),
      channel.onFrame(BULK, (from, frame) => this.onMessage(from, frame)),
    )
  }

  /** The Repo is ready: send our wants and serve what waited for it. */
  attach(repo: Repo, storage?: StorageAdapterInterface): void {
    this.repo = repo
    this.receiver.attach(repo, storage)
    for (const [endpointId, have] of this.waitingWants) void this.serve(endpointId, have)
    this.waitingWants.clear()
    for (const endpointId of this.peers.keys()) this.sendWant(endpointId)
  }

  /** Stops sending and applying; counters stay readable. */
  stop(): void {
    this.stopped = true
    this.receiver.stop()
    for (const off of this.unsubscribe.splice(0)) off()
    this.peers.clear()
    this.waitingWants.clear()
  }

  /** True while a received document waits to be applied (the request gate counts it as held). */
  holds(id: DocumentId): boolean {
    return this.receiver.holds(id)
  }

  /** Resolves when every docs frame received so far has been applied (or deferred). For tests. */
  whenApplied(): Promise<void> {
    return this.receiver.applying
  }

  private onConnected(peer: PeerInfo): void {
    if (this.stopped) return
    const { endpointId } = peer
    const state: PeerState = { epoch: ++this.epochs, incoming: undefined, served: false, pushed: false, wantSent: false }
    this.peers.set(endpointId, state)
    this.waitingWants.delete(endpointId)
    if (peer.features?.includes(BULK_FEATURE) && peer.features.includes(BULK_EMPTY_FEATURE)) {
      // As if it had sent an empty want, without waiting for one.
      state.served = state.pushed = true
      if (this.repo) void this.serve(endpointId, new Map())
      else this.waitingWants.set(endpointId, new Map())
    }
    this.sendWant(endpointId)
  }

  private sendWant(endpointId: string): void {
    const state = this.peers.get(endpointId)
    const repo = this.repo
    if (!state || state.wantSent || !repo) return
    state.wantSent = true
    const entries: WantEntry[] = []
    for (const handle of Object.values(repo.handles)) {
      if (!handle.isReady()) continue
      const heads = Automerge.getHeads(handle.doc() as Automerge.Doc<unknown>)
      if (heads.length <= MAX_HEADS) entries.push([handle.documentId, heads])
    }
    const frames = wantFrames(entries, MAX_WANT_ENTRIES, Math.min(DOCS_FRAME_BYTES, this.channel.maxFrameBytes / 2))
    for (let i = 0; i < frames.length; i++) {
      const message = { type: BULK_WANT_TYPE, have: frames[i], ...(i < frames.length - 1 ? { more: true } : {}) }
      // False: the peer does not speak bulk (or just left).
      if (!this.channel.send(endpointId, BULK, message)) return
      this.counters.wantsSent++
    }
    this.log.debug(`bulk: told ${endpointId.slice(0, 10)} the heads of ${entries.length} document(s)`)
  }

  private onMessage(from: string, message: Record<string, unknown>): void {
    if (this.stopped) return
    if (message.type === BULK_WANT_TYPE) this.onWant(from, message)
    else if (message.type === BULK_DOCS_TYPE) this.receiver.onDocs(from, message)
  }

  private onWant(from: string, message: Record<string, unknown>): void {
    const state = this.peers.get(from)
    if (!state) return
    this.counters.wantsReceived++
    if (state.pushed) return
    const read = readWantFrame(message)
    if ('error' in read) {
      this.log.warn(`bulk: ignoring a want frame from ${from.slice(0, 10)}: ${read.error}`)
      return
    }
    if (state.served) {
      this.log.warn(`bulk: ${from.slice(0, 10)} asked again on the same connection; ignored`)
      return
    }
    if (read.dropped > 0) this.log.warn(`bulk: ${read.dropped} malformed entr(ies) in a want from ${from.slice(0, 10)}`)
    const have = (state.incoming ??= new Map())
    for (const [id, heads] of read.entries) if (have.size < MAX_WANT_TOTAL) have.set(id, heads)
    if (read.more) return
    state.served = true
    state.incoming = undefined
    if (this.repo) void this.serve(from, have)
    else this.waitingWants.set(from, have)
  }

  /**
   * Sends `endpointId` what it lacks of every ready document we hold. The Repo's own messages to it wait
   * until the last frame is queued (bounded): between frames they would overtake the documents, and the
   * peer would sync those the slow way (three rounds each), since it applies a frame in slices.
   */
  private serve(endpointId: string, have: Map<DocumentId, string[]>): Promise<void> {
    const serving = this.serveFrames(endpointId, have)
    if (this.pushSliced) this.channel.holdRepoMessages(endpointId, withinMs(serving, SERVE_HOLD_MS))
    return serving
  }

  private async serveFrames(endpointId: string, have: Map<DocumentId, string[]>): Promise<void> {
    const repo = this.repo!
    const epoch = this.peers.get(endpointId)?.epoch
    const peerId = this.channel.peers().find((p) => p.endpointId === endpointId)?.peerId
    if (epoch === undefined || !peerId) return
    const current = () => !this.stopped && this.peers.get(endpointId)?.epoch === epoch
    const packer = new DocFramePacker(this.frameBytes, this.channel.maxFrameBytes)
    // Directories first, parents before children: the receiver accepts a document a directory points at.
    const handles = treeOrder(
      Object.values(repo.handles).filter((h) => h.isReady()),
      (h) => h.documentId,
      (h) => dirChildIds(h.doc()),
    )
    let tooLarge = 0
    try {
      // No yield before the first frame is out, and the share policy is asked in batches: either would
      // let the Repo's own first sync messages to this peer overtake the documents.
      for (let i = 0; i < handles.length; i += SHARE_BATCH) {
        const batch = handles.slice(i, i + SHARE_BATCH)
        const allowed = await Promise.all(batch.map((h) => this.mayShare(repo, peerId, h.documentId, have.has(h.documentId))))
        for (let j = 0; j < batch.length; j++) {
          const handle = batch[j]!
          if (!current()) return
          if (!allowed[j] || !handle.isReady()) continue
          const plan = planDoc(handle.doc() as Automerge.Doc<unknown>, have.get(handle.documentId))
          if (plan.kind === 'none') continue
          const frames = packer.add(handle.documentId, plan.bytes)
          if (frames === 'too-large') tooLarge++
          else for (const frame of frames) if (!(await this.sendDocs(endpointId, frame, current))) return
        }
      }
      const last = packer.take()
      if (last) await this.sendDocs(endpointId, last, current)
      if (tooLarge > 0) this.log.info(`bulk: ${tooLarge} document(s) too large for a frame; left to sync`)
    } catch (err) {
      this.log.warn(`bulk: serving ${endpointId.slice(0, 10)} failed: ${firstLine(err)}`)
    }
  }

  /** The Repo's share policy: `access` for a document the peer holds, `announce` for one it does not. */
  private async mayShare(repo: Repo, peerId: PeerId, documentId: DocumentId, theyHoldIt: boolean): Promise<boolean> {
    const config = repo.shareConfig
    try {
      return await (theyHoldIt ? config.access(peerId, documentId) : config.announce(peerId, documentId))
    } catch {
      return false
    }
  }

  /** Sends one docs frame, then waits for the write queue to drain. False: stop sending to this peer. */
  private async sendDocs(endpointId: string, docs: DocEntry[], current: () => boolean): Promise<boolean> {
    if (!current()) return false
    if (!this.channel.send(endpointId, BULK, { type: BULK_DOCS_TYPE, docs })) return false
    this.counters.framesSent++
    this.counters.docsSent += docs.length
    for (const [, bytes] of docs) this.counters.bytesSent += bytes.length
    await yieldToEventLoop()
    for (;;) {
      if (!current()) return false
      const queued = this.channel.queuedBytes(endpointId)
      if (queued === undefined) return false
      if (queued <= SEND_QUEUE_BYTES) return true
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

}
