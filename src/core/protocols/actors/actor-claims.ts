// Actor claims: which peer wrote a change. A document's history lists Automerge actors; to name the peer
// behind each, we ask our connected peers "which of these actors are yours?" (`tonk/actors-ask`, at most
// 64 actors) and each answers with the subset it has written with (`tonk/actors-mine`, history/
// own-actors.ts). An answer is the peer's own word, authenticated only as coming from it: shown as a
// name, never acted on. Bounded: asks from one peer closer than MIN_GAP_MS apart are not answered;
// an answer counts only for the ask in flight to that peer and only for actors we asked; at most
// MAX_CLAIMS claims are kept (oldest go first). Asking reveals nothing new: the actors are in a document
// both sides hold, and only peers of the same app are connected.
import type { ExtensionChannel } from '../../net/extension-channel'
import type { OwnActors } from '../../history/own-actors'
import { ACTOR_ID } from '../../../shared/actor-id'
import { ACTORS } from '../registry'

export const ACTORS_FEATURE = ACTORS.feature
export const MAX_ACTORS_PER_ASK = 64
const MAX_CLAIMS = 4096
const MIN_GAP_MS = 200
/** Actors nobody claimed are not asked about again for this long (a scrolling history asks page by page). */
const UNCLAIMED_MS = 30_000
/** How long `who` waits for answers. */
export const ASK_TIMEOUT_MS = 1_500

/** The actor ids of a received frame that look sane (≤ 64, deduplicated); anything else is dropped. */
export function readActorList(value: unknown): string[] {
  if (!Array.isArray(value)) return []
  const out = new Set<string>()
  for (const a of value.slice(0, MAX_ACTORS_PER_ASK)) if (typeof a === 'string' && ACTOR_ID.test(a)) out.add(a)
  return [...out]
}

interface Pending {
  n: number
  asked: Set<string>
  done: () => void
}

export class ActorClaims {
  /** actor → the endpoint id that said it writes with it. */
  private readonly claims = new Map<string, string>()
  private readonly pending = new Map<string, Pending>()
  private readonly lastAskIn = new Map<string, number>()
  private readonly lastAskOut = new Map<string, number>()
  /** actor → when an ask about it went unanswered by everyone. */
  private readonly unclaimed = new Map<string, number>()
  private counter = 0
  private unsubscribe: (() => void)[] = []

  constructor(
    private readonly channel: ExtensionChannel,
    private readonly own: OwnActors,
  ) {}

  start(): void {
    this.unsubscribe.push(
      this.channel.onFrame(ACTORS, (from, frame) => (frame.type === ACTORS.frames.ask ? this.answer(from, frame) : this.take(from, frame))),
      this.channel.onPeerLeft((id) => {
        this.lastAskIn.delete(id)
        this.lastAskOut.delete(id)
        this.pending.get(id)?.done()
      }),
    )
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
    for (const p of [...this.pending.values()]) p.done()
  }

  /**
   * Who wrote with these actors: 'you' for ours, else the endpoint id of the peer that claims it (asking
   * connected peers for the ones not known yet, up to ASK_TIMEOUT_MS). Actors nobody claims are absent.
   */
  async who(actors: readonly string[], timeoutMs = ASK_TIMEOUT_MS): Promise<Map<string, string | 'you'>> {
    const out = new Map<string, string | 'you'>()
    const unknown: string[] = []
    const now = Date.now()
    for (const a of new Set(actors)) {
      if (this.own.has(a)) out.set(a, 'you')
      else if (this.claims.has(a)) out.set(a, this.claims.get(a)!)
      else if (ACTOR_ID.test(a) && now - (this.unclaimed.get(a) ?? 0) > UNCLAIMED_MS) unknown.push(a)
    }
    if (unknown.length > 0) {
      const ask = unknown.slice(0, MAX_ACTORS_PER_ASK)
      const peers = this.channel.peers().filter((p) => p.state === 'connected' && !this.pending.has(p.endpointId))
      await Promise.all(peers.map((p) => this.ask(p.endpointId, ask, timeoutMs)))
      for (const a of ask) {
        if (this.claims.has(a)) out.set(a, this.claims.get(a)!)
        else if (peers.length > 0) this.unclaimed.set(a, Date.now())
      }
      while (this.unclaimed.size > MAX_CLAIMS) this.unclaimed.delete(this.unclaimed.keys().next().value!)
    }
    return out
  }

  private async ask(endpointId: string, actors: string[], timeoutMs: number): Promise<void> {
    // The peer answers one ask per MIN_GAP_MS: space ours so none goes unanswered.
    const wait = (this.lastAskOut.get(endpointId) ?? 0) + MIN_GAP_MS + 20 - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    if (this.pending.has(endpointId)) return
    this.lastAskOut.set(endpointId, Date.now())
    const n = ++this.counter
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs)
      const done = () => {
        clearTimeout(timer)
        if (this.pending.get(endpointId)?.n === n) this.pending.delete(endpointId)
        resolve()
      }
      this.pending.set(endpointId, { n, asked: new Set(actors), done })
      if (!this.channel.send(endpointId, ACTORS, { type: ACTORS.frames.ask, n, actors })) done()
    })
  }

  private answer(from: string, frame: Record<string, unknown>): void {
    const now = Date.now()
    if (now - (this.lastAskIn.get(from) ?? 0) < MIN_GAP_MS || !Number.isSafeInteger(frame.n)) return
    this.lastAskIn.set(from, now)
    const mine = readActorList(frame.actors).filter((a) => this.own.has(a))
    this.channel.send(from, ACTORS, { type: ACTORS.frames.mine, n: frame.n as number, actors: mine })
  }

  private take(from: string, frame: Record<string, unknown>): void {
    const pending = this.pending.get(from)
    if (!pending || frame.n !== pending.n) return // not the ask in flight: ignored
    for (const a of readActorList(frame.actors)) {
      if (!pending.asked.has(a)) continue
      this.claims.delete(a) // re-inserted last: the newest claims are kept
      this.claims.set(a, from)
      if (this.claims.size > MAX_CLAIMS) this.claims.delete(this.claims.keys().next().value!)
    }
    pending.done()
  }
}
