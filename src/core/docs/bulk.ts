// Bulk catch-up ("tonk/bulk"): a peer that lacks documents gets them as saved documents in a few large
// frames, instead of three sync messages each way per document. automerge-repo's per-document sync (a
// DocSynchronizer and a state machine per document) is the floor of a fresh fetch: 1,000 small
// documents take ~1.9 s in one process with no disk and no network; importing saved bytes ~0.9 s.
//
// Protocol (CBOR frames on the existing connection, only to peers whose hello lists 'bulk'):
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
import { createHash } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import {
  Automerge,
  isValidDocumentId,
  type DocHandle,
  type DocumentId,
  type Message,
  type PeerCandidatePayload,
  type PeerId,
  type Repo,
  type StorageAdapterInterface,
} from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../log'
import type { IrohAdapterEvents, PeerInfo } from '../net/iroh-adapter'

export const BULK_FEATURE = 'bulk'
/**
 * Listed in the hello next to 'bulk' by a peer that holds no documents yet (a new data dir), until its
 * first docs frame: peers push everything to it at once instead of waiting for its want.
 */
export const BULK_EMPTY_FEATURE = 'bulk-empty'
export const BULK_WANT_TYPE = 'tonk/bulk-want'
export const BULK_DOCS_TYPE = 'tonk/bulk-docs'

/** Entries per want frame. */
export const MAX_WANT_ENTRIES = 5000
/** Entries of one want across its frames: more would be a peer trying to make us hold its list. */
export const MAX_WANT_TOTAL = 200_000
/** A document with more concurrent heads than this is listed as unknown (it gets a full save). */
export const MAX_HEADS = 256
/**
 * Documents per docs frame. A frame is applied in one go (~0.7 ms per small document here): this bounds
 * how long that holds the event loop.
 */
export const MAX_DOCS_PER_FRAME = 2_000
/** Target size of a docs frame. */
export const DOCS_FRAME_BYTES = 1024 * 1024
/**
 * A peer speaks bulk only if it accepts frames this large: a peer's frame limit is not in its hello,
 * and a frame over it drops the connection.
 */
export const BULK_MIN_FRAME_LIMIT = DOCS_FRAME_BYTES + 64 * 1024
/** Bytes of received frames waiting to be applied; beyond this, frames are dropped (sync covers them). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024
/** Our write queue to a peer is kept under this while sending (the writer refuses past its hard limit). */
const SEND_QUEUE_BYTES = 4 * 1024 * 1024
/** How long a received document waits for its handle to finish loading from storage. */
const LOADING_WAIT_MS = 30_000
/** Documents whose share policy is asked at once. */
const SHARE_BATCH = 1000
/** CBOR overhead of a frame and of one entry beyond its id and bytes: upper bounds (checked by tests). */
const FRAME_OVERHEAD_BYTES = 64
const ENTRY_OVERHEAD_BYTES = 16

const HEAD = /^[0-9a-f]{64}$/
/** Automerge storage chunks start with these bytes. */
const CHUNK_MAGIC = [0x85, 0x6f, 0x4a, 0x83]

export type WantEntry = [DocumentId, string[]]
export type DocEntry = [DocumentId, Uint8Array]

export interface BulkCounters {
  /** Want frames. */
  wantsSent: number
  wantsReceived: number
  /** Docs frames. */
  framesSent: number
  framesReceived: number
  /** Document entries in docs frames. */
  docsSent: number
  docsReceived: number
  /** Received documents merged into (or imported as) a handle. */
  docsApplied: number
  /** Received entries refused: bad shape, bytes that do not parse, documents that cannot take them. */
  docsRejected: number
  /** Document bytes (not frame bytes). */
  bytesSent: number
  bytesReceived: number
}

export const emptyCounters = (): BulkCounters => ({
  wantsSent: 0,
  wantsReceived: 0,
  framesSent: 0,
  framesReceived: 0,
  docsSent: 0,
  docsReceived: 0,
  docsApplied: 0,
  docsRejected: 0,
  bytesSent: 0,
  bytesReceived: 0,
})

// ---- Pure parts -------------------------------------------------------------------------------------

export const sameHeads = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((h) => b.includes(h))

export type DocPlan = { kind: 'none' } | { kind: 'since' | 'full'; bytes: Uint8Array }

/**
 * What a peer with `theirHeads` (undefined: it does not list the document) lacks of `doc`: nothing when
 * the heads are equal; the changes since its heads when we hold them all; else the whole document.
 */
export function planDoc(doc: Automerge.Doc<unknown>, theirHeads: readonly string[] | undefined): DocPlan {
  if (theirHeads && theirHeads.length > 0) {
    const ours = Automerge.getHeads(doc)
    if (sameHeads(ours, theirHeads)) return { kind: 'none' }
    if (Automerge.hasHeads(doc, theirHeads as string[])) {
      const bytes = Automerge.saveSince(doc, theirHeads as string[])
      // Every change of ours is behind their heads: they lack nothing.
      return bytes.length === 0 ? { kind: 'none' } : { kind: 'since', bytes }
    }
  }
  return { kind: 'full', bytes: Automerge.save(doc) }
}

/** A want frame's entries, or why the frame is not one. Bad entries are dropped (counted in `dropped`). */
export function readWantFrame(
  message: Record<string, unknown>,
): { entries: WantEntry[]; more: boolean; dropped: number } | { error: string } {
  if (message.type !== BULK_WANT_TYPE) return { error: 'not a want frame' }
  const have = message.have
  if (!Array.isArray(have)) return { error: 'have is not a list' }
  if (have.length > MAX_WANT_ENTRIES) return { error: `${have.length} entries, over ${MAX_WANT_ENTRIES}` }
  const entries: WantEntry[] = []
  let dropped = 0
  for (const e of have) {
    const ok =
      Array.isArray(e) &&
      e.length === 2 &&
      isDocumentId(e[0]) &&
      Array.isArray(e[1]) &&
      e[1].length <= MAX_HEADS &&
      e[1].every((h: unknown) => typeof h === 'string' && HEAD.test(h))
    if (ok) entries.push([e[0], e[1]])
    else dropped++
  }
  return { entries, more: message.more === true, dropped }
}

/** A docs frame's entries, or why the frame is not one. Bad entries are dropped (counted in `dropped`). */
export function readDocsFrame(message: Record<string, unknown>): { docs: DocEntry[]; dropped: number } | { error: string } {
  if (message.type !== BULK_DOCS_TYPE) return { error: 'not a docs frame' }
  const docs = message.docs
  if (!Array.isArray(docs)) return { error: 'docs is not a list' }
  if (docs.length > MAX_DOCS_PER_FRAME) return { error: `${docs.length} documents, over ${MAX_DOCS_PER_FRAME}` }
  const out: DocEntry[] = []
  let dropped = 0
  for (const e of docs) {
    if (Array.isArray(e) && e.length === 2 && isDocumentId(e[0]) && e[1] instanceof Uint8Array && e[1].length > 0) out.push([e[0], e[1]])
    else dropped++
  }
  return { docs: out, dropped }
}

/** automerge-repo's check (base58check of 16 bytes), with a length bound before decoding. */
export const isDocumentId = (value: unknown): value is DocumentId =>
  typeof value === 'string' && value.length <= 64 && isValidDocumentId(value)

/**
 * Whether `bytes` is a sequence of whole Automerge storage chunks with matching checksums. Cheap (no
 * parse); it keeps truncated or random bytes away from the Repo, where a failed import would leave an
 * empty handle behind until it times out.
 */
export function isAutomergeData(bytes: Uint8Array): boolean {
  let at = 0
  while (at < bytes.length) {
    if (bytes.length - at < 10 || CHUNK_MAGIC.some((b, i) => bytes[at + i] !== b)) return false
    const type = bytes[at + 8]!
    if (type > 2) return false
    let p = at + 9
    let length = 0
    for (let shift = 0; ; shift += 7) {
      if (p >= bytes.length || shift > 49) return false
      const byte = bytes[p++]!
      length += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) break
    }
    const end = p + length
    if (end > bytes.length) return false
    // Compressed change chunks (type 2) carry the checksum of the uncompressed chunk: framing only.
    if (type !== 2) {
      const sum = createHash('sha256').update(bytes.subarray(at + 8, end)).digest()
      for (let i = 0; i < 4; i++) if (sum[i] !== bytes[at + 4 + i]) return false
    }
    at = end
  }
  return bytes.length > 0
}

/** Upper bound of a document entry's CBOR size. */
export const entryBytes = (id: string, bytes: Uint8Array) => bytes.length + id.length + ENTRY_OVERHEAD_BYTES

/**
 * Packs document entries into docs frames of about `targetBytes`. A document larger than that goes in a
 * frame of its own if it fits `maxFrameBytes`, else it is refused (normal sync carries it).
 */
export class DocFramePacker {
  private entries: DocEntry[] = []
  private bytes = FRAME_OVERHEAD_BYTES

  constructor(
    readonly targetBytes: number,
    readonly maxFrameBytes: number,
  ) {}

  /** Adds an entry; returns the frames finished by it ([] usually), or 'too-large' if it never fits. */
  add(id: DocumentId, data: Uint8Array): DocEntry[][] | 'too-large' {
    const size = entryBytes(id, data)
    if (FRAME_OVERHEAD_BYTES + size > this.maxFrameBytes) return 'too-large'
    const done: DocEntry[][] = []
    if (this.entries.length > 0 && (this.bytes + size > this.targetBytes || this.entries.length >= MAX_DOCS_PER_FRAME)) {
      done.push(this.take()!)
    }
    this.entries.push([id, data])
    this.bytes += size
    if (this.bytes >= this.targetBytes) done.push(this.take()!)
    return done
  }

  /** The frame being filled, if it has anything. */
  take(): DocEntry[] | undefined {
    if (this.entries.length === 0) return undefined
    const frame = this.entries
    this.entries = []
    this.bytes = FRAME_OVERHEAD_BYTES
    return frame
  }
}

/** Splits want entries into frames of at most `maxEntries` and about `targetBytes`. */
export function wantFrames(entries: WantEntry[], maxEntries = MAX_WANT_ENTRIES, targetBytes = DOCS_FRAME_BYTES): WantEntry[][] {
  const frames: WantEntry[][] = []
  let frame: WantEntry[] = []
  let bytes = FRAME_OVERHEAD_BYTES
  for (const e of entries) {
    const size = e[0].length + e[1].length * 67 + ENTRY_OVERHEAD_BYTES
    if (frame.length > 0 && (frame.length >= maxEntries || bytes + size > targetBytes)) {
      frames.push(frame)
      frame = []
      bytes = FRAME_OVERHEAD_BYTES
    }
    frame.push(e)
    bytes += size
  }
  if (frame.length > 0 || frames.length === 0) frames.push(frame)
  return frames
}

// ---- Wiring -----------------------------------------------------------------------------------------

/** The part of IrohNetworkAdapter bulk uses (a fake in unit tests). */
export interface BulkTransport {
  /** The NetworkAdapter events the Repo listens to; bulk's listeners must come first (see BulkSync). */
  on(event: 'peer-candidate', listener: (payload: PeerCandidatePayload) => void): unknown
  on(event: 'message', listener: (message: Message) => void): unknown
  off(event: 'peer-candidate', listener: (payload: PeerCandidatePayload) => void): unknown
  off(event: 'message', listener: (message: Message) => void): unknown
  readonly maxFrameBytes: number
  readonly events: EventEmitter<IrohAdapterEvents>
  sendExtension(endpointId: string, feature: string, message: { type: string } & Record<string, unknown>): boolean
  peerInfos(): PeerInfo[]
  /** Bytes queued for this peer and not yet written; undefined when it is not connected. */
  queuedBytes(endpointId: string): number | undefined
}

export interface BulkSyncOptions {
  logger?: Logger
  /** Target docs frame size (default 1 MiB). */
  frameBytes?: number
  /**
   * Called once, when the first docs frame arrives: a peer that said BULK_EMPTY_FEATURE in its hello
   * stops saying so (later connections should not push everything again).
   */
  onFirstDocs?: () => void
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
  private storage: StorageAdapterInterface | undefined
  private readonly peers = new Map<string, PeerState>()
  /** Wants (or pushes) that arrived before the Repo. */
  private readonly waitingWants = new Map<string, Map<DocumentId, string[]>>()
  private epochs = 0
  private stopped = false
  private readonly stopping = new AbortController()
  private applying: Promise<void> = Promise.resolve()
  private pendingBytes = 0
  /** Received documents not applied yet; `stored`: whether storage holds one without a handle (undefined: not checked yet). */
  private readonly unapplied = new Map<DocumentId, { data: Uint8Array; stored: boolean | undefined }>()
  private onFirstDocs: (() => void) | undefined
  private readonly unsubscribe: (() => void)[] = []

  constructor(
    private readonly transport: BulkTransport,
    options: BulkSyncOptions = {},
  ) {
    this.log = options.logger ?? noopLogger
    this.frameBytes = Math.min(options.frameBytes ?? DOCS_FRAME_BYTES, transport.maxFrameBytes)
    this.onFirstDocs = options.onFirstDocs
  }

  start(): void {
    const onCandidate = ({ peerId }: PeerCandidatePayload) => {
      const peer = this.transport.peerInfos().find((p) => p.peerId === peerId && p.state === 'connected')
      if (peer) this.onConnected(peer)
    }
    const onRepoMessage = (m: Message) => this.onRepoMessage(m)
    const onClosed = (e: { endpointId: string }) => {
      this.peers.delete(e.endpointId)
      this.waitingWants.delete(e.endpointId)
    }
    const onMessage = (e: { endpointId: string; message: Record<string, unknown> }) => this.onMessage(e.endpointId, e.message)
    const events = this.transport.events
    this.transport.on('peer-candidate', onCandidate)
    this.transport.on('message', onRepoMessage)
    events.on('peer-closed', onClosed)
    events.on('extension-message', onMessage)
    this.unsubscribe.push(
      () => this.transport.off('peer-candidate', onCandidate),
      () => this.transport.off('message', onRepoMessage),
      () => events.off('peer-closed', onClosed),
      () => events.off('extension-message', onMessage),
    )
  }

  /** The Repo is ready: send our wants and serve what waited for it. */
  attach(repo: Repo, storage?: StorageAdapterInterface): void {
    this.repo = repo
    this.storage = storage
    for (const [endpointId, have] of this.waitingWants) void this.serve(endpointId, have)
    this.waitingWants.clear()
    for (const endpointId of this.peers.keys()) this.sendWant(endpointId)
  }

  /** Stops sending and applying; counters stay readable. */
  stop(): void {
    this.stopped = true
    this.stopping.abort()
    for (const off of this.unsubscribe.splice(0)) off()
    this.peers.clear()
    this.waitingWants.clear()
    this.unapplied.clear()
  }

  /** True while a received document waits to be applied (the request gate counts it as held). */
  holds(id: DocumentId): boolean {
    return this.unapplied.has(id)
  }

  /** Resolves when every docs frame received so far has been applied (or deferred). For tests. */
  whenApplied(): Promise<void> {
    return this.applying
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
    const frames = wantFrames(entries, MAX_WANT_ENTRIES, Math.min(DOCS_FRAME_BYTES, this.transport.maxFrameBytes / 2))
    for (let i = 0; i < frames.length; i++) {
      const message = { type: BULK_WANT_TYPE, have: frames[i], ...(i < frames.length - 1 ? { more: true } : {}) }
      // False: the peer does not speak bulk (or just left).
      if (!this.transport.sendExtension(endpointId, BULK_FEATURE, message)) return
      this.counters.wantsSent++
    }
    this.log.debug(`bulk: told ${endpointId.slice(0, 10)} the heads of ${entries.length} document(s)`)
  }

  private onMessage(from: string, message: Record<string, unknown>): void {
    if (this.stopped) return
    if (message.type === BULK_WANT_TYPE) this.onWant(from, message)
    else if (message.type === BULK_DOCS_TYPE) this.onDocs(from, message)
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

  /** Sends `endpointId` what it lacks of every ready document we hold. */
  private async serve(endpointId: string, have: Map<DocumentId, string[]>): Promise<void> {
    const repo = this.repo!
    const epoch = this.peers.get(endpointId)?.epoch
    const peerId = this.transport.peerInfos().find((p) => p.endpointId === endpointId)?.peerId
    if (epoch === undefined || !peerId) return
    const current = () => !this.stopped && this.peers.get(endpointId)?.epoch === epoch
    const packer = new DocFramePacker(this.frameBytes, this.transport.maxFrameBytes)
    const handles = Object.values(repo.handles).filter((h) => h.isReady())
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
    if (!this.transport.sendExtension(endpointId, BULK_FEATURE, { type: BULK_DOCS_TYPE, docs })) return false
    this.counters.framesSent++
    this.counters.docsSent += docs.length
    for (const [, bytes] of docs) this.counters.bytesSent += bytes.length
    await yieldToEventLoop()
    for (;;) {
      if (!current()) return false
      const queued = this.transport.queuedBytes(endpointId)
      if (queued === undefined) return false
      if (queued <= SEND_QUEUE_BYTES) return true
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  private onDocs(from: string, message: Record<string, unknown>): void {
    const read = readDocsFrame(message)
    if ('error' in read) {
      this.log.warn(`bulk: ignoring a docs frame from ${from.slice(0, 10)}: ${read.error}`)
      return
    }
    this.counters.framesReceived++
    this.counters.docsReceived += read.docs.length + read.dropped
    this.counters.docsRejected += read.dropped
    if (read.dropped > 0) this.log.warn(`bulk: ${read.dropped} malformed entr(ies) in a docs frame from ${from.slice(0, 10)}`)
    const onFirstDocs = this.onFirstDocs
    this.onFirstDocs = undefined
    onFirstDocs?.()
    let bytes = 0
    for (const [, data] of read.docs) bytes += data.length
    this.counters.bytesReceived += bytes
    if (!this.repo) {
      this.log.warn(`bulk: documents from ${from.slice(0, 10)} before the repo is open; left to sync`)
      return
    }
    if (this.pendingBytes + bytes > MAX_PENDING_BYTES) {
      this.log.warn(`bulk: ${this.pendingBytes} bytes still being applied; dropping a frame from ${from.slice(0, 10)} (sync covers it)`)
      return
    }
    const ids: DocumentId[] = []
    for (const [id, data] of read.docs) {
      if (!isAutomergeData(data)) {
        this.reject(id, 'bytes are not Automerge data')
        continue
      }
      this.applyOne(id) // an earlier copy (from another peer) goes first
      this.unapplied.set(id, { data, stored: undefined })
      this.pendingBytes += data.length
      ids.push(id)
    }
    this.applying = this.applying.then(() => this.applyFrame(ids))
  }

  /**
   * Applies one frame's documents, then yields. A frame goes in one go: yielding inside it would let
   * the sync messages queued behind it run first, each costing about as much as applying a document,
   * and every document would be ready later (1,000 documents: ~0.4 s later with 10 ms slices). Until
   * then, a sync message for one of them applies it first (onRepoMessage).
   */
  private async applyFrame(ids: DocumentId[]): Promise<void> {
    const repo = this.repo!
    // A document without a handle may still be in storage (not loaded): importing over it would hide
    // its stored changes, so it is loaded first.
    await Promise.all(
      ids.map(async (id) => {
        const entry = this.unapplied.get(id)
        if (entry && !repo.handles[id]) entry.stored = await this.inStorage(id)
      }),
    )
    for (const id of ids) this.applyOne(id)
    await yieldToEventLoop()
  }

  /** Runs before the Repo sees a message: a document that waits here is applied first. */
  private onRepoMessage(message: Message): void {
    const id = message.documentId
    if (id !== undefined && this.unapplied.has(id)) this.applyOne(id)
  }

  /** Applies a received document if it is still waiting. */
  private applyOne(id: DocumentId): void {
    const entry = this.unapplied.get(id)
    if (!entry) return
    this.unapplied.delete(id)
    const { data } = entry
    const repo = this.repo!
    let handle = repo.handles[id]
    if (!handle && entry.stored !== false) {
      // In storage, or not known yet: load it first (the safe way), merge after.
      repo.findWithProgress(id)
      handle = repo.handles[id]
    }
    if (!handle) {
      try {
        repo.import(data, { docId: id })
        this.counters.docsApplied++
      } catch (err) {
        this.reject(id, firstLine(err))
      }
      this.pendingBytes -= data.length
    } else if (handle.inState(['loading'])) {
      // automerge-repo's storage load replaces the document when it finishes: merge after it.
      void this.afterLoading(handle, data)
    } else {
      this.merge(handle, data)
      this.pendingBytes -= data.length
    }
  }

  private async afterLoading(handle: DocHandle<unknown>, data: Uint8Array): Promise<void> {
    try {
      // Our own deadline: automerge-repo's timeout logs to stdout, an abort does not.
      const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(LOADING_WAIT_MS)])
      await handle.whenReady(['ready', 'requesting', 'unavailable'], { signal })
      if (!this.stopped) this.merge(handle, data)
    } catch {
      this.log.debug(`bulk: ${handle.documentId} never finished loading; left to sync`)
    } finally {
      this.pendingBytes -= data.length
    }
  }

  private merge(handle: DocHandle<unknown>, data: Uint8Array): void {
    if (!handle.inState(['ready', 'requesting', 'unavailable'])) {
      this.reject(handle.documentId, `its handle is ${handle.state}`)
      return
    }
    try {
      handle.update((doc) => Automerge.loadIncremental(doc, data))
      this.counters.docsApplied++
    } catch (err) {
      this.reject(handle.documentId, firstLine(err))
    }
  }

  private reject(id: DocumentId, why: string): void {
    this.counters.docsRejected++
    this.log.warn(`bulk: skipped document ${id}: ${why}`)
  }

  private async inStorage(id: DocumentId): Promise<boolean> {
    if (!this.storage) return false
    try {
      for (const kind of ['snapshot', 'incremental']) if ((await this.storage.loadRange([id, kind])).length > 0) return true
      return false
    } catch {
      return true // unknown: take the safe path (load first)
    }
  }
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0]!.slice(0, 200)
}
