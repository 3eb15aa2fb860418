// Passing on other peers' ephemeral messages (presence) without flooding a mesh twice over.
// automerge-repo forwards every new ephemeral message to all of its peers but the origin, at once, so
// in a mesh each link carries each heartbeat in both directions and every peer gets `degree` copies of
// it: with 50 peers of 4-5 links, presence alone kept 50 idle processes at 1.6 cores (bench row
// sparse-50). A peer drops every copy whose count it has already seen (NetworkSubsystem), so a copy for
// a peer that has itself sent us that origin's message, or a later one, is certain to be dropped there:
// we do not send it. Forwards wait a few ms first, so that the copies travelling towards us from our
// other neighbours arrive and tell us who already has it. Our own messages are never held.
import type { Message } from '@automerge/automerge-repo/slim'

export interface EphemeralRelayOptions {
  /** How long a forward waits for other copies to arrive; 0 sends at once (still skipping known holders). */
  holdMs: number
  /** Origins remembered (oldest forgotten first): each costs a small map of its copies' senders. */
  maxOrigins?: number
  /** Forwards held at once; past it they go at once. */
  maxHeld?: number
}

interface Held {
  message: Message
  send: () => void
  /** When it goes, unless a copy from its target came first. */
  due: number
}

const DEFAULT_MAX_ORIGINS = 1024
const DEFAULT_MAX_HELD = 4096

/**
 * `senderId:sessionId`, as automerge-repo's NetworkSubsystem keys its de-duplication. Ids a peer made
 * long (automerge-repo's are ~40 and ~11 characters) are not remembered: a key costs memory here.
 */
function originOf(message: Message): string | undefined {
  if (message.type !== 'ephemeral') return undefined
  const { senderId, sessionId, count } = message as Message & { sessionId?: unknown; count?: unknown }
  if (typeof sessionId !== 'string' || sessionId.length > 64 || typeof senderId !== 'string' || senderId.length > 128) return undefined
  if (typeof count !== 'number' || !Number.isFinite(count)) return undefined
  return `${senderId}:${sessionId}`
}

export class EphemeralRelay {
  /** origin → peer that sent us a copy → the highest count it sent. */
  private readonly heard = new Map<string, Map<string, number>>()
  private held: Held[] = []
  private timer: NodeJS.Timeout | undefined
  private readonly maxOrigins: number
  private readonly maxHeld: number
  /** Forwards not sent because their target had the message (for tests). */
  skipped = 0

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

  /** Going offline: held forwards are dropped, and what peers had heard is forgotten. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.held = []
    this.heard.clear()
  }

  private targetHas(origin: string, message: Message): boolean {
    const count = (message as Message & { count: number }).count
    return (this.heard.get(origin)?.get(message.targetId) ?? -1) >= count
  }
}
