// The receiving half of bulk catch-up: a docs frame's documents are checked, accepted only if a
// handle has them or our tree reaches them (else parked briefly, then refused), within the peer's
// quota, and applied to the Repo in time slices (slices.ts): imported, or merged into a handle (after
// its load from storage, if it is loading). Why this order and these bounds: bulk.ts and accept.ts.
// Over ~400 lines: one state machine (early frames, unapplied, parked) whose steps share every field;
// split further, each part would take all of them as parameters.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { Automerge, type DocHandle, type DocumentId, type Message, type Repo, type StorageAdapterInterface } from '@automerge/automerge-repo/slim'
import type { Logger } from '../../../shared/log'
import { dirChildIds, DocQuota, Rejections, type BulkRejectCode } from './accept'
import { isAutomergeData, readDocsFrame, MAX_DOCS_PER_FRAME, type BulkCounters, type DocEntry } from './frames'
import { SliceClock, sliceBudgetMs } from './slices'
import { firstLine } from '../../util/text'

/** Bytes of received frames waiting to be applied; beyond this, frames are dropped (sync covers them). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024
/** How long a received document waits for its handle to finish loading from storage. */
const LOADING_WAIT_MS = 30_000
/**
 * Received documents not reachable (yet) wait this long for a later frame of the same peer to bring the
 * directory that points at them; then, or when the peer leaves, they are refused. Per peer at most this
 * many documents and bytes wait (beyond that they are refused at once).
 */
const PARK_MS = 5_000
const MAX_PARKED_DOCS = MAX_DOCS_PER_FRAME
const MAX_PARKED_BYTES = 4 * 1024 * 1024
/** Longest a peer's stream is held unread while its frame is applied (the applying goes on after). */
const READ_HOLD_MS = 10_000
/** How long a frame waits for directories it brought that load from storage, to follow their entries. */
const DIR_LOAD_WAIT_MS = 5_000

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

export interface BulkReceiverOptions {
  log: Logger
  counters: BulkCounters
  maxDocsPerMinute: number
  /** Whether a peer is still connected (a peer that left sends no later frame to un-park its documents). */
  peerPresent: (endpointId: string) => boolean
  /** Called once, when the first docs frame arrives. */
  onFirstDocs?: () => void
  /** Budget of one slice of applying, in ms (slices.ts; 0: whole frames). Default: sliceBudgetMs(). */
  sliceMs?: number
  /** Reads nothing more from a peer until `until` settles (ExtensionChannel.holdReading). */
  holdReading?: (endpointId: string, until: Promise<unknown>) => void
}

export class BulkReceiver {
  private readonly log: Logger
  private readonly counters: BulkCounters
  private readonly peerPresent: (endpointId: string) => boolean
  private repo: Repo | undefined
  private storage: StorageAdapterInterface | undefined
  private stopped = false
  private readonly stopping = new AbortController()
  /** Resolves when every docs frame received so far has been applied (or deferred). */
  applying: Promise<void> = Promise.resolve()
  private pendingBytes = 0
  /** Docs frames that came before the Repo (their bytes count in pendingBytes). */
  private readonly early: { from: string; docs: DocEntry[]; rejections: Rejections }[] = []
  /** Received documents accepted and not applied yet. */
  private readonly unapplied = new Map<DocumentId, Unapplied>()
  /** Per sending peer: received documents waiting for a directory that points at them. */
  private readonly parked = new Map<string, Parked>()
  private readonly quota: DocQuota
  private onFirstDocs: (() => void) | undefined
  private readonly sliceMs: number
  private readonly holdReading: ((endpointId: string, until: Promise<unknown>) => void) | undefined

  constructor(options: BulkReceiverOptions) {
    this.log = options.log
    this.counters = options.counters
    this.peerPresent = options.peerPresent
    this.quota = new DocQuota(options.maxDocsPerMinute)
    this.onFirstDocs = options.onFirstDocs
    this.sliceMs = options.sliceMs ?? sliceBudgetMs()
    this.holdReading = options.holdReading
  }

  /** The Repo is ready: accept what waited for it. */
  attach(repo: Repo, storage?: StorageAdapterInterface): void {
    this.repo = repo
    this.storage = storage
    for (const { from, docs, rejections } of this.early.splice(0)) {
      for (const [, data] of docs) this.pendingBytes -= data.length
      this.acceptFrame(from, docs, rejections)
    }
  }

  stop(): void {
    this.stopped = true
    this.stopping.abort()
    this.unapplied.clear()
    this.early.length = 0
    for (const { timer } of this.parked.values()) clearTimeout(timer)
    this.parked.clear()
  }

  /** True while a received document waits to be applied (the request gate counts it as held). */
  holds(id: DocumentId): boolean {
    return this.unapplied.has(id)
  }

  onDocs(from: string, message: Record<string, unknown>): void {
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
    // Applied in slices, a frame would let what the peer sent after it (its Repo's sync messages for
    // these documents, its next frame) run in between: held back in the stream, they wait, as they
    // did behind a frame applied whole (slices.ts says why that order matters).
    if (this.sliceMs > 0) this.holdReading?.(from, settledWithin([this.applying], READ_HOLD_MS))
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
   * Applies one frame's accepted documents and decides the others: ours in storage, reachable through a
   * directory we hold or one this frame brought (followed as each directory is applied; a frame may list
   * children before their parent), or else parked for a later frame. Applied in slices (slices.ts):
   * everything decidable is accepted before the first yield, so a sync message that overtakes a
   * document applies it first (onRepoMessage); senders list directories first, so the first slices
   * apply them and decide the rest.
   */
  private async applyFrame(frame: ReceivedFrame): Promise<void> {
    const repo = this.repo!
    const { from, undecided, rejections } = frame
    const slice = new SliceClock(this.sliceMs)
    /** Documents of this frame that wait for their load from storage before being merged. */
    const loads = new Map<DocumentId, Promise<void>>()
    /** Accepted documents in the order they are applied: the frame's accepted ones, then as decided. */
    const toApply: DocumentId[] = [...frame.accepted]
    const take = (id: DocumentId, stored: boolean) => {
      const data = undecided.get(id)
      if (!data) return
      undecided.delete(id)
      if (!this.quota.take(from)) {
        this.refuse(rejections, 'E_BULK_QUOTA', id)
        this.pendingBytes -= data.length
        return
      }
      this.unapplied.set(id, { data, stored, rejections })
      toApply.push(id)
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
    this.takeParked(from, undecided)
    for (const id of [...undecided.keys()]) if (repo.handles[id] || stored.has(id)) take(id, stored.has(id))
    if (undecided.size > 0) for (const id of this.childrenOfLoadedDirs()) take(id, false)
    /** Takes what the (now ready) directory `id` points at. */
    const follow = (id: DocumentId) => {
      const handle = repo.handles[id]
      if (undecided.size > 0 && handle?.isReady()) for (const child of dirChildIds(handle.doc()) ?? []) take(child, false)
    }
    const waited = new Set<DocumentId>()
    for (let next = 0; ; ) {
      while (next < toApply.length) {
        const id = toApply[next++]!
        const loading = this.applyOne(id)
        if (loading) loads.set(id, loading)
        else follow(id)
        if (slice.due()) {
          await slice.next()
          if (this.stopped) return
        }
      }
      // Directories of this frame that load from storage first are waited for (bounded), so their
      // entries count too.
      const pending = [...loads.keys()].filter((id) => !waited.has(id))
      if (undecided.size === 0 || pending.length === 0) break
      for (const id of pending) waited.add(id)
      await settledWithin(pending.map((id) => loads.get(id)!), DIR_LOAD_WAIT_MS)
      if (this.stopped) return
      for (const id of pending) follow(id)
    }
    if (undecided.size > 0) this.park(from, undecided, rejections)
    const report = () => this.report(from, rejections, 'a docs frame')
    if (loads.size > 0) void Promise.allSettled(loads.values()).then(report)
    else report()
    await yieldToEventLoop()
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
      if (!this.peerPresent(from) || parked.docs.size >= MAX_PARKED_DOCS || parked.bytes + data.length > MAX_PARKED_BYTES) {
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
  dropParked(from: string, why: string): void {
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
  onRepoMessage(message: Message): void {
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
