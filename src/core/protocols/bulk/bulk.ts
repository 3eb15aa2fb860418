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
//
// What a received frame may make us store is bounded (bulk-accept.ts): documents we hold, asked for or
// reach from our tree, and at most so many per peer per minute. Senders list directories first, parents
// before children, so a receiver meets a directory before the documents it points at.
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
import { noopLogger, type Logger } from '../../../shared/log'
import { dirChildIds, DocQuota, Rejections, treeOrder, type BulkRejectCode } from './accept'
import type { IrohAdapterEvents, PeerInfo } from '../../net/iroh-adapter'
import { sameHeads } from '../../util/heads'
import { firstLine, HEX64 } from '../../util/text'

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
/** Documents a peer may have applied per minute (more are refused: sync still brings what we ask for). */
export const MAX_DOCS_PER_MINUTE = 20_000
/**
 * Received documents not reachable (yet) wait this long for a later frame of the same peer to bring the
 * directory that points at them; then, or when the peer leaves, they are refused. Per peer at most this
 * many documents and bytes wait (beyond that they are refused at once).
 */
const PARK_MS = 5_000
const MAX_PARKED_DOCS = MAX_DOCS_PER_FRAME
const MAX_PARKED_BYTES = 4 * 1024 * 1024
/** How long a frame waits for directories it brought that load from storage, to follow their entries. */
const DIR_LOAD_WAIT_MS = 5_000
/** Documents whose share policy is asked at once. */
const SHARE_BATCH = 1000
/** CBOR overhead of a frame and of one entry beyond its id and bytes: upper bounds (checked by tests). */
const FRAME_OVERHEAD_BYTES = 64
const ENTRY_OVERHEAD_BYTES = 16

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
  /**
   * Received entries refused: bad shape, bytes that do not parse, documents that cannot take them, and
   * the two below.
   */
  docsRejected: number
  /** Refused: not ours, not asked for, not reachable from our tree (E_BULK_UNREACHABLE). */
  docsUnreachable: number
  /** Refused: over the peer's documents per minute (E_BULK_QUOTA). */
  docsOverQuota: number
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
  docsUnreachable: 0,
  docsOverQuota: 0,
  bytesSent: 0,
  bytesReceived: 0,
})

// ---- Pure parts -------------------------------------------------------------------------------------

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
      e[1].every((h: unknown) => typeof h === 'string' && HEX64.test(h))
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
  /** Documents a peer may have applied per minute (default MAX_DOCS_PER_MINUTE). */
  maxDocsPerMinute?: number
}

/** A received document waiting to be applied. */
interface Unapplied {
  data: Uint8Array
  /** Whether storage holds it without a handle (undefined: not checked yet). */
  stored: boolean | undefined
  /** Its frame's refusals, for a merge that fails. */
  rejections: Rejections
}

/** A docs frame on its way through applyFrame. */
interface ReceivedFrame {
  from: string
  /** Accepted on arrival (a handle had it, or a directory of ours points at it), in `unapplied`. */
  accepted: DocumentId[]
  /** Not decided on arrival: in storage, or reachable through a directory of this frame, or neither. */
  undecided: Map<DocumentId, Uint8Array>
  rejections: Rejections
}

/** A peer's received documents that no directory reached yet (see PARK_MS). */
interface Parked {
  docs: Map<DocumentId, Uint8Array>
  bytes: number
  timer: NodeJS.Timeout
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
  /** Docs frames that came before the Repo (their bytes count in pendingBytes). */
  private readonly early: { from: string; docs: DocEntry[]; rejections: Rejections }[] = []
  /** Received documents accepted and not applied yet. */
  private readonly unapplied = new Map<DocumentId, Unapplied>()
  /** Per sending peer: received documents waiting for a directory that points at them. */
  private readonly parked = new Map<string, Parked>()
  private readonly quota: DocQuota
  private onFirstDocs: (() => void) | undefined
  private readonly unsubscribe: (() => void)[] = []

  constructor(
    private readonly transport: BulkTransport,
    options: BulkSyncOptions = {},
  ) {
    this.log = options.logger ?? noopLogger
    this.frameBytes = Math.min(options.frameBytes ?? DOCS_FRAME_BYTES, transport.maxFrameBytes)
    this.onFirstDocs = options.onFirstDocs
    this.quota = new DocQuota(options.maxDocsPerMinute ?? MAX_DOCS_PER_MINUTE)
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
      this.dropParked(e.endpointId, 'it left')
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
    for (const { from, docs, rejections } of this.early.splice(0)) {
      for (const [, data] of docs) this.pendingBytes -= data.length
      this.acceptFrame(from, docs, rejections)
    }
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
    this.early.length = 0
    for (const { timer } of this.parked.values()) clearTimeout(timer)
    this.parked.clear()
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
      this.log.warn(`bulk: E_BULK_MALFORMED: ignoring a docs frame from ${from.slice(0, 10)}: ${read.error}`)
      return
    }
    this.counters.framesReceived++
    this.counters.docsReceived += read.docs.length + read.dropped
    const rejections = new Rejections()
    for (let i = 0; i < read.dropped; i++) this.refuse(rejections, 'E_BULK_MALFORMED', 'an entry', 'not [documentId, bytes]')
    const onFirstDocs = this.onFirstDocs
    this.onFirstDocs = undefined
    onFirstDocs?.()
    let bytes = 0
    for (const [, data] of read.docs) bytes += data.length
    this.counters.bytesReceived += bytes
    if (!this.repo) {
      // The Repo connects the adapter before it is handed to us (createBundleRepo still loads and
      // flushes the root): a peer's push to a new data dir can come first. Kept, bounded, for attach().
      if (this.pendingBytes + bytes <= MAX_PENDING_BYTES) {
        this.early.push({ from, docs: read.docs, rejections })
        this.pendingBytes += bytes
      } else {
        this.log.warn(`bulk: documents from ${from.slice(0, 10)} before the repo is open; left to sync`)
        this.report(from, rejections, 'a docs frame')
      }
      return
    }
    if (this.pendingBytes + bytes > MAX_PENDING_BYTES) {
      this.log.warn(`bulk: ${this.pendingBytes} bytes still being applied; dropping a frame from ${from.slice(0, 10)} (sync covers it)`)
      this.report(from, rejections, 'a docs frame')
      return
    }
    this.acceptFrame(from, read.docs, rejections)
  }

  /** Accepts what the Repo already has a handle for or our tree reaches; the rest goes to applyFrame. */
  private acceptFrame(from: string, docs: DocEntry[], rejections: Rejections): void {
    const repo = this.repo!
    const frame: ReceivedFrame = { from, accepted: [], undecided: new Map(), rejections }
    // What the directories we hold point at: computed once, and only if some document has no handle.
    let reachable: Set<DocumentId> | undefined
    for (const [id, data] of docs) {
      if (!isAutomergeData(data)) {
        this.refuse(rejections, 'E_BULK_MALFORMED', id, 'bytes are not Automerge data')
        continue
      }
      this.applyOne(id) // an earlier copy (from another peer) goes first
      const earlier = frame.undecided.get(id) // listed twice in this frame: the later copy is kept
      if (earlier) this.pendingBytes -= earlier.length
      frame.undecided.delete(id)
      this.pendingBytes += data.length
      if (!repo.handles[id] && !(reachable ??= this.childrenOfLoadedDirs()).has(id)) {
        frame.undecided.set(id, data)
      } else if (this.quota.take(from)) {
        this.unapplied.set(id, { data, stored: undefined, rejections })
        frame.accepted.push(id)
      } else {
        this.refuse(rejections, 'E_BULK_QUOTA', id)
        this.pendingBytes -= data.length
      }
    }
    this.applying = this.applying.then(() => this.applyFrame(frame))
  }

  /**
   * Applies one frame's accepted documents, decides the others (ours in storage, reachable through a
   * directory this frame brought, or parked for a later frame), then yields. A frame goes in one go:
   * yielding inside it would let the sync messages queued behind it run first, each costing about as
   * much as applying a document, and every document would be ready later (1,000 documents: ~0.4 s later
   * with 10 ms slices). Until then, a sync message for an accepted one applies it first (onRepoMessage).
   */
  private async applyFrame(frame: ReceivedFrame): Promise<void> {
    const repo = this.repo!
    const { from, undecided, rejections } = frame
    /** Documents of this frame that wait for their load from storage before being merged. */
    const loads = new Map<DocumentId, Promise<void>>()
    const apply = (id: DocumentId) => {
      const loading = this.applyOne(id)
      if (loading) loads.set(id, loading)
    }
    const accept = (id: DocumentId, data: Uint8Array, stored: boolean) => {
      if (!this.quota.take(from)) {
        this.refuse(rejections, 'E_BULK_QUOTA', id)
        this.pendingBytes -= data.length
        return
      }
      this.unapplied.set(id, { data, stored, rejections })
      apply(id)
    }
    // A document without a handle may still be in storage (not loaded): it is ours, and importing over
    // it would hide its stored changes, so it is loaded first (applyOne).
    const stored = new Set<DocumentId>()
    await Promise.all([
      ...frame.accepted.map(async (id) => {
        const entry = this.unapplied.get(id)
        if (entry && !repo.handles[id]) entry.stored = await this.inStorage(id)
      }),
      ...[...undecided.keys()].map(async (id) => {
        if (!repo.handles[id] && (await this.inStorage(id))) stored.add(id)
      }),
    ])
    if (this.stopped) return
    for (const id of frame.accepted) apply(id)
    this.takeParked(from, undecided)
    for (const [id, data] of undecided) {
      if (!repo.handles[id] && !stored.has(id)) continue
      undecided.delete(id)
      accept(id, data, stored.has(id))
    }
    if (undecided.size > 0) await this.acceptReachable(undecided, loads, accept)
    if (this.stopped) return
    if (undecided.size > 0) this.park(from, undecided, rejections)
    const report = () => this.report(from, rejections, 'a docs frame')
    if (loads.size > 0) void Promise.allSettled(loads.values()).then(report)
    else report()
    await yieldToEventLoop()
  }

  /**
   * Accepts the documents of `undecided` that a directory we hold points at, then those the directories
   * it accepted point at, and so on (a frame may list children before their parent). A directory of the
   * frame loading from storage is waited for (bounded), so its entries count too.
   */
  private async acceptReachable(
    undecided: Map<DocumentId, Uint8Array>,
    loads: Map<DocumentId, Promise<void>>,
    accept: (id: DocumentId, data: Uint8Array, stored: boolean) => void,
  ): Promise<void> {
    const repo = this.repo!
    const queue: DocumentId[] = []
    const follow = (ids: DocumentId[] | undefined) => {
      for (const id of ids ?? []) if (undecided.has(id)) queue.push(id)
    }
    const reachable = this.childrenOfLoadedDirs()
    for (const id of undecided.keys()) if (reachable.has(id)) queue.push(id)
    const waited = new Set<DocumentId>()
    for (;;) {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
        const data = undecided.get(id)
        if (!data) continue
        undecided.delete(id)
        accept(id, data, false)
        const handle = repo.handles[id]
        if (handle?.isReady()) follow(dirChildIds(handle.doc()))
      }
      const pending = [...loads.keys()].filter((id) => !waited.has(id))
      if (undecided.size === 0 || pending.length === 0 || this.stopped) return
      for (const id of pending) waited.add(id)
      await settledWithin(pending.map((id) => loads.get(id)!), DIR_LOAD_WAIT_MS)
      for (const id of pending) {
        const handle = repo.handles[id]
        if (handle?.isReady()) follow(dirChildIds(handle.doc()))
      }
    }
  }

  /** The ids the ready directory documents we hold point at. */
  private childrenOfLoadedDirs(): Set<DocumentId> {
    const ids = new Set<DocumentId>()
    for (const handle of Object.values(this.repo!.handles)) {
      if (!handle.isReady()) continue
      for (const id of dirChildIds(handle.doc()) ?? []) ids.add(id)
    }
    return ids
  }

  /** Keeps `docs` (bounded) for a later frame of `from` that may bring a directory pointing at them. */
  private park(from: string, docs: Map<DocumentId, Uint8Array>, rejections: Rejections): void {
    let parked = this.parked.get(from)
    if (parked) clearTimeout(parked.timer)
    else parked = { docs: new Map(), bytes: 0, timer: undefined as unknown as NodeJS.Timeout }
    for (const [id, data] of docs) {
      // A peer that already left sends no later frame.
      if (!this.peers.has(from) || parked.docs.size >= MAX_PARKED_DOCS || parked.bytes + data.length > MAX_PARKED_BYTES) {
        this.refuse(rejections, 'E_BULK_UNREACHABLE', id)
        this.pendingBytes -= data.length
        continue
      }
      parked.docs.set(id, data)
      parked.bytes += data.length
    }
    if (parked.docs.size === 0) {
      this.parked.delete(from)
      return
    }
    this.parked.set(from, parked)
    parked.timer = setTimeout(() => this.dropParked(from, `no directory reached them in ${PARK_MS / 1000} s`), PARK_MS)
    parked.timer.unref?.()
  }

  /** Moves `from`'s parked documents into a new frame's undecided ones (the frame's own copy wins). */
  private takeParked(from: string, undecided: Map<DocumentId, Uint8Array>): void {
    const parked = this.parked.get(from)
    if (!parked) return
    clearTimeout(parked.timer)
    this.parked.delete(from)
    for (const [id, data] of parked.docs) {
      if (undecided.has(id)) this.pendingBytes -= data.length
      else undecided.set(id, data)
    }
  }

  /** Refuses `from`'s parked documents in one go, but for those a handle now waits for (asked since). */
  private dropParked(from: string, why: string): void {
    const parked = this.parked.get(from)
    if (!parked) return
    clearTimeout(parked.timer)
    this.parked.delete(from)
    const rejections = new Rejections()
    for (const [id, data] of parked.docs) {
      if (this.repo?.handles[id] && !this.stopped) {
        if (this.quota.take(from)) {
          this.unapplied.set(id, { data, stored: undefined, rejections })
          this.applyOne(id)
          continue
        }
        this.refuse(rejections, 'E_BULK_QUOTA', id)
      } else {
        this.refuse(rejections, 'E_BULK_UNREACHABLE', id)
      }
      this.pendingBytes -= data.length
    }
    this.report(from, rejections, `its documents no directory reached (${why})`)
  }

  /**
   * Runs before the Repo sees a message: an accepted document that waits here is applied first, and so
   * is a parked one we have asked for since it arrived (a handle waits for it now).
   */
  private onRepoMessage(message: Message): void {
    const id = message.documentId
    if (id === undefined) return
    if (this.unapplied.has(id)) this.applyOne(id)
    else if (this.parked.size > 0 && this.repo?.handles[id]) this.unparkAsked(id)
  }

  private unparkAsked(id: DocumentId): void {
    for (const [from, parked] of this.parked) {
      const data = parked.docs.get(id)
      if (!data) continue
      parked.docs.delete(id)
      parked.bytes -= data.length
      if (parked.docs.size === 0) {
        clearTimeout(parked.timer)
        this.parked.delete(from)
      }
      const rejections = new Rejections()
      rejections.reported = true // one document: a refusal gets its own line
      if (this.quota.take(from)) {
        this.unapplied.set(id, { data, stored: undefined, rejections })
        this.applyOne(id)
      } else {
        this.refuse(rejections, 'E_BULK_QUOTA', id)
        this.pendingBytes -= data.length
      }
      return
    }
  }

  /**
   * Applies an accepted document if it is still waiting. Returns the wait for its handle's load from
   * storage, when it is merged after that.
   */
  private applyOne(id: DocumentId): Promise<void> | undefined {
    const entry = this.unapplied.get(id)
    if (!entry) return undefined
    this.unapplied.delete(id)
    const { data, rejections } = entry
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
        this.refuse(rejections, 'E_BULK_UNMERGEABLE', id, firstLine(err))
      }
      this.pendingBytes -= data.length
    } else if (handle.inState(['loading'])) {
      // automerge-repo's storage load replaces the document when it finishes: merge after it.
      return this.afterLoading(handle, data, rejections)
    } else {
      this.merge(handle, data, rejections)
      this.pendingBytes -= data.length
    }
    return undefined
  }

  private async afterLoading(handle: DocHandle<unknown>, data: Uint8Array, rejections: Rejections): Promise<void> {
    try {
      // Our own deadline: automerge-repo's timeout logs to stdout, an abort does not.
      const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(LOADING_WAIT_MS)])
      await handle.whenReady(['ready', 'requesting', 'unavailable'], { signal })
      if (!this.stopped) this.merge(handle, data, rejections)
    } catch {
      this.log.debug(`bulk: ${handle.documentId} never finished loading; left to sync`)
    } finally {
      this.pendingBytes -= data.length
    }
  }

  private merge(handle: DocHandle<unknown>, data: Uint8Array, rejections: Rejections): void {
    if (!handle.inState(['ready', 'requesting', 'unavailable'])) {
      this.refuse(rejections, 'E_BULK_UNMERGEABLE', handle.documentId, `its handle is ${handle.state}`)
      return
    }
    try {
      handle.update((doc) => Automerge.loadIncremental(doc, data))
      this.counters.docsApplied++
    } catch (err) {
      this.refuse(rejections, 'E_BULK_UNMERGEABLE', handle.documentId, firstLine(err))
    }
  }

  /** Counts a refused document; its frame logs them in one line (report), a late one gets its own. */
  private refuse(rejections: Rejections, code: BulkRejectCode, id: string, detail?: string): void {
    this.counters.docsRejected++
    if (code === 'E_BULK_UNREACHABLE') this.counters.docsUnreachable++
    else if (code === 'E_BULK_QUOTA') this.counters.docsOverQuota++
    rejections.add(code, id, detail)
    if (rejections.reported) this.log.warn(`bulk: ${code}: document ${id}${detail ? `: ${detail}` : ''}`)
  }

  private report(from: string, rejections: Rejections, what: string): void {
    rejections.reported = true
    const summary = rejections.summary()
    if (summary) this.log.warn(`bulk: refused ${rejections.count} document(s) of ${what} from ${from.slice(0, 10)}: ${summary}`)
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

/** Waits for `promises` to settle, or `ms`, whichever comes first. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
  try {
    await Promise.race([Promise.allSettled(promises), timeout])
  } finally {
    clearTimeout(timer)
  }
}

