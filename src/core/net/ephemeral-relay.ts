// Passing on other peers' ephemeral messages (presence) without flooding a mesh twice over.
// automerge-repo forwards every new ephemeral message to all of its peers but the origin, at once, so
// in a mesh each link carries each heartbeat in both directions and every peer gets `degree` copies of
// it: with 50 peers of 4-5 links, presence alone kept 50 idle processes at 1.6 cores (bench row
// sparse-50). A peer drops every copy whose count it has already seen (NetworkSubsystem), so a copy for
// a peer that has itself sent us that origin's message, or a later one, is certain to be dropped there:
// we do not send it. Forwards wait a few ms first, so that the copies travelling towards us from our
// other neighbours arrive and tell us who already has it. Our own messages are never held.
// Heartbeats, most of presence's traffic and all alike, go further: forwarded ones wait for a digest,
// one frame per peer every `digestMs` naming each origin's latest heartbeat, so a link carries a frame
// per period instead of one per origin (`N × links` frames per peer and period in a mesh of N).
import { cbor, type Message } from '@automerge/automerge-repo/slim'

/** The `data` of every heartbeat automerge-repo's Presence sends (`{ __presence: { type: 'heartbeat' } }`). */
export const HEARTBEAT_DATA: Uint8Array = new Uint8Array(cbor.encode({ __presence: { type: 'heartbeat' } }))

/** The hello feature of peers that take heartbeat digests, and the digest's frame type (protocols/registry.ts). */
export const DIGEST_FEATURE = 'presence-digest'
export const DIGEST_FRAME = 'tonk/presence-digest'
/** Beats a digest may carry (as many origins as we remember); a larger one is cut there. */
export const MAX_DIGEST_BEATS = 1024

/** One forwarded heartbeat in a digest: everything of the message but its data (always HEARTBEAT_DATA). */
export interface Beat {
  senderId: string
  sessionId: string
  count: number
  documentId: string
}

export function isHeartbeat(message: Message): boolean {
  const data = (message as Message & { data?: unknown }).data
  if (message.type !== 'ephemeral' || !(data instanceof Uint8Array) || data.length !== HEARTBEAT_DATA.length) return false
  for (let i = 0; i < data.length; i++) if (data[i] !== HEARTBEAT_DATA[i]) return false
  return typeof message.documentId === 'string'
}

export interface EphemeralRelayOptions {
  /** How long a forward waits for other copies to arrive; 0 sends at once (still skipping known holders). */
  holdMs: number
  /** Origins remembered (oldest forgotten first): each costs a small map of its copies' senders. */
  maxOrigins?: number
  /** Forwards held at once (digests included); past it they go at once. */
  maxHeld?: number
  /** Forwarded heartbeats go out in one digest per peer this often; 0 or unset: one by one. */
  digestMs?: number
  /**
   * Sends a digest to the peer with automerge-repo id `targetId`; false when it cannot take one (an
   * older peer, gone): its beats then go one by one.
   */
  sendDigest?: (targetId: string, beats: Beat[]) => boolean
}

/** A forward waiting to go: for a heartbeat, the next digest; otherwise `Held.due`. */
interface Waiting {
  message: Message
  send: () => void
}

interface Held extends Waiting {
  /** When it goes, unless a copy from its target came first. */
  due: number
}

const DEFAULT_MAX_ORIGINS = 1024
const DEFAULT_MAX_HELD = 4096

/**
 * `senderId:sessionId`, as automerge-repo's NetworkSubsystem keys its de-duplication. Ids a peer made
 * long (automerge-repo's are ~40 and ~11 characters) are not remembered: a key costs memory here.
 */
export function originOf(message: Message): string | undefined {
  if (message.type !== 'ephemeral') return undefined
  const { senderId, sessionId, count } = message as Message & { sessionId?: unknown; count?: unknown }
  if (typeof sessionId !== 'string' || sessionId.length > 64 || typeof senderId !== 'string' || senderId.length > 128) return undefined
  if (typeof count !== 'number' || !Number.isFinite(count)) return undefined
  return `${senderId}:${sessionId}`
}

/** The digest frame naming these beats (one array per beat: the frame stays small). */
export function digestFrame(beats: Beat[]): { type: typeof DIGEST_FRAME; beats: unknown[][] } {
  return { type: DIGEST_FRAME, beats: beats.map((b) => [b.senderId, b.sessionId, b.count, b.documentId]) }
}

/**
 * A peer's digest frame read: its well-formed beats and how many entries it had (each costs the
 * reader a check, so each is charged); undefined if it is not a digest at all (the link is dropped).
 */
export function readDigest(frame: Record<string, unknown>): { beats: Beat[]; entries: number } | undefined {
  const entries = frame.beats
  if (!Array.isArray(entries) || entries.length > MAX_DIGEST_BEATS) return undefined
  const beats: Beat[] = []
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 4) continue
    const [senderId, sessionId, count, documentId] = entry as unknown[]
    // The bounds of originOf (the origin budget keys by them), and a document id's.
    if (typeof senderId !== 'string' || senderId.length > 128 || typeof sessionId !== 'string' || sessionId.length > 64 || typeof documentId !== 'string' || documentId.length > 64) continue
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) continue
    beats.push({ senderId, sessionId, count, documentId })
  }
  return { beats, entries: entries.length }
}

/** A digest's beat as the heartbeat message it stands for, addressed to `targetId`. */
export function beatMessage(b: Beat, targetId: string): Message {
  return { type: 'ephemeral', senderId: b.senderId, targetId, count: b.count, sessionId: b.sessionId, documentId: b.documentId, data: HEARTBEAT_DATA } as unknown as Message
}

export class EphemeralRelay {
  /** origin → peer that sent us a copy → the highest count it sent. */
  private readonly heard = new Map<string, Map<string, number>>()
  private held: Held[] = []
  private timer: NodeJS.Timeout | undefined
  /** Heartbeats waiting for the next digest: target → origin → the latest one. */
  private beats = new Map<string, Map<string, Waiting>>()
  private beatCount = 0
  private digestTimer: NodeJS.Timeout | undefined
  private readonly maxOrigins: number
  private readonly maxHeld: number
  /** Forwards not sent because their target had the message (for tests). */
  skipped = 0
  /** Digests sent, and the heartbeats they carried (for tests and the bench). */
  digests = 0
  digestBeats = 0

  constructor(
    private readonly options: EphemeralRelayOptions,
    /** Our own automerge-repo peer id: our messages are never held or skipped. */
    private readonly ourPeerId: () => string | undefined,
  ) {
    this.maxOrigins = options.maxOrigins ?? DEFAULT_MAX_ORIGINS
    this.maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD
  }

  /** An ephemeral message arrived from `fromPeerId` (a direct peer): it has this origin's `count`. */
  heardFrom(fromPeerId: string, message: Message): void {
    const origin = originOf(message)
    if (!origin) return
    const count = (message as Message & { count: number }).count
    let copies = this.heard.get(origin)
    if (copies) {
      // Most recently heard last: the oldest origin is the first one forgotten.
      this.heard.delete(origin)
    } else {
      copies = new Map()
      if (this.heard.size >= this.maxOrigins) this.heard.delete(this.heard.keys().next().value!)
    }
    this.heard.set(origin, copies)
    if ((copies.get(fromPeerId) ?? -1) < count) copies.set(fromPeerId, count)
  }

  /** A peer left: what it had heard says nothing about its next connection. */
  peerLeft(peerId: string): void {
    for (const copies of this.heard.values()) copies.delete(peerId)
  }

  /**
   * The Repo sends `message` to `message.targetId`: `send` it now, later, or not at all. Only other
   * peers' ephemeral messages (forwards) are held and may be skipped.
   */
  route(message: Message, send: () => void): void {
    const origin = originOf(message)
    if (!origin || message.senderId === this.ourPeerId()) return send()
    if (this.options.digestMs && this.options.sendDigest && this.beatCount < this.maxHeld && isHeartbeat(message)) {
      this.holdBeat(origin, message, send)
      return
    }
    if (this.options.holdMs <= 0 || this.held.length >= this.maxHeld) {
      if (!this.targetHas(origin, message)) send()
      else this.skipped++
      return
    }
    // Jittered, as Trickle does: with one fixed hold every peer of a wave would wait alike and send
    // before hearing from the others; a random one lets the early senders tell the late ones.
    const now = Date.now()
    this.held.push({ message, send, due: now + this.options.holdMs * (0.5 + Math.random()) })
    this.timer ??= setTimeout(() => this.flushDue(), this.options.holdMs / 2)
  }

  /** Sends the forwards that are due, unless their target has sent us the message meanwhile. */
  private flushDue(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const now = Date.now()
    const later: Held[] = []
    const held = this.held
    this.held = later
    for (const h of held) {
      if (h.due > now) later.push(h)
      else if (this.targetHas(originOf(h.message)!, h.message)) this.skipped++
      else h.send()
    }
    if (later.length > 0) this.timer = setTimeout(() => this.flushDue(), Math.max(1, Math.min(...later.map((h) => h.due)) - now))
  }

  private holdBeat(origin: string, message: Message, send: () => void): void {
    let forTarget = this.beats.get(message.targetId)
    if (!forTarget) this.beats.set(message.targetId, (forTarget = new Map()))
    const before = forTarget.get(origin)
    if (!before) this.beatCount++
    // A later heartbeat of the origin replaces the earlier one: the target keeps only the highest count.
    if (!before || (before.message as Message & { count: number }).count < (message as Message & { count: number }).count) {
      forTarget.set(origin, { message, send })
    }
    this.digestTimer ??= setTimeout(() => this.flushDigests(), this.options.digestMs)
  }

  /** One digest per peer: the heartbeats it has not sent us itself. */
  private flushDigests(): void {
    this.digestTimer = undefined
    const beats = this.beats
    this.beats = new Map()
    this.beatCount = 0
    for (const [targetId, byOrigin] of beats) {
      const due = [...byOrigin].filter(([origin, h]) => {
        const needed = !this.targetHas(origin, h.message)
        if (!needed) this.skipped++
        return needed
      }).map(([, h]) => h)
      // A receiver drops a digest of more than MAX_DIGEST_BEATS as malformed: more go in several.
      for (let at = 0; at < due.length; at += MAX_DIGEST_BEATS) {
        const part = due.slice(at, at + MAX_DIGEST_BEATS)
        const digest = part.map(({ message: m }) => ({ senderId: m.senderId, sessionId: (m as Message & { sessionId: string }).sessionId, count: (m as Message & { count: number }).count, documentId: m.documentId! }))
        if (this.options.sendDigest!(targetId, digest)) {
          this.digests++
          this.digestBeats += digest.length
        } else {
          for (const h of part) h.send()
        }
      }
    }
  }

  /** Going offline: held forwards are dropped, and what peers had heard is forgotten. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.digestTimer) clearTimeout(this.digestTimer)
    this.timer = undefined
    this.digestTimer = undefined
    this.held = []
    this.beats.clear()
    this.beatCount = 0
    this.heard.clear()
  }

  /** The highest count of `origin` any peer sent us (a digest's beat below it is old news). */
  heardCount(message: Message): number {
    const origin = originOf(message)
    const copies = origin ? this.heard.get(origin) : undefined
    return copies ? Math.max(-1, ...copies.values()) : -1
  }

  private targetHas(origin: string, message: Message): boolean {
    const count = (message as Message & { count: number }).count
    return (this.heard.get(origin)?.get(message.targetId) ?? -1) >= count
  }
}
