// Bulk catch-up's frames and the pure parts around them: the constants and limits, what a peer lacks
// of a document (planDoc), reading want and docs frames, the cheap Automerge chunk check, and packing
// entries into frames. No Repo, no network: test/unit/bulk.test.ts covers them directly.
// The protocol itself is described in bulk.ts; its names are registered in ../registry.ts.
import { createHash } from 'node:crypto'
import { Automerge, isValidDocumentId, type DocumentId } from '@automerge/automerge-repo/slim'
import { sameHeads } from '../../util/heads'
import { HEX64 } from '../../util/text'
import { BULK, HELLO_FLAGS } from '../registry'

export const BULK_FEATURE = BULK.feature
/**
 * Listed in the hello next to 'bulk' by a peer that holds no documents yet (a new data dir), until its
 * first docs frame: peers push everything to it at once instead of waiting for its want.
 */
export const BULK_EMPTY_FEATURE = HELLO_FLAGS.bulkEmpty
export const BULK_WANT_TYPE = BULK.frames.want
export const BULK_DOCS_TYPE = BULK.frames.docs

/** Entries per want frame. */
export const MAX_WANT_ENTRIES = 5000
/** Entries of one want across its frames: more would be a peer trying to make us hold its list. */
export const MAX_WANT_TOTAL = 200_000
/** A document with more concurrent heads than this is listed as unknown (it gets a full save). */
export const MAX_HEADS = 256
/**
 * Documents per docs frame. A frame is applied in time slices (slices.ts) with the peer's stream held
 * unread until it is done (~0.7–2 ms per small document here): this bounds how long that hold lasts.
 */
export const MAX_DOCS_PER_FRAME = 2_000
/** Target size of a docs frame. */
export const DOCS_FRAME_BYTES = 1024 * 1024
/**
 * A peer speaks bulk only if it accepts frames this large: a peer's frame limit is not in its hello,
 * and a frame over it drops the connection.
 */
export const BULK_MIN_FRAME_LIMIT = DOCS_FRAME_BYTES + 64 * 1024
/** Documents a peer may have applied per minute (more are refused: sync still brings what we ask for). */
export const MAX_DOCS_PER_MINUTE = 20_000
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
