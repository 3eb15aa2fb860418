// How many other peers' presence a link may speak for. A forwarded ephemeral message (or a digest's
// beat) names an origin we cannot check: any peer holding the bundle can invent participants, and each
// one it invents costs us for good or for a while — automerge-repo's NetworkSubsystem keeps a count per
// `senderId:sessionId` it ever saw, Presence lists the participant until its TTL, and once there are more
// origins than EphemeralRelay remembers the Repo's forwards go back to the inventor. So a link speaks for
// at most `max` origins heard from within `ttlMs`; past that, new origins are ignored (the link is kept:
// a real mesh that large is a misconfiguration, not an attack, and its presence still works for the rest).
export const MAX_ORIGINS_PER_LINK = 512
export const ORIGIN_TTL_MS = 5 * 60_000

export class OriginBudget {
  /** link's peer id → origin → when last heard; oldest first (re-inserted on every hearing). */
  private readonly links = new Map<string, Map<string, number>>()
  /** Messages ignored because their link was over its budget (for tests and the log). */
  refused = 0
  /** Links that have been over their budget (each is said once). */
  private readonly over = new Set<string>()

  constructor(
    private readonly max = MAX_ORIGINS_PER_LINK,
    private readonly ttlMs = ORIGIN_TTL_MS,
  ) {}

  /**
   * Whether the link may speak for `origin` now ('first-refusal' the first time it may not); an admitted
   * origin is remembered for the link.
   */
  admit(linkPeerId: string, origin: string, now = Date.now()): 'admitted' | 'refused' | 'first-refusal' {
    let origins = this.links.get(linkPeerId)
    if (!origins) this.links.set(linkPeerId, (origins = new Map()))
    if (origins.delete(origin)) {
      origins.set(origin, now)
      return 'admitted'
    }
    if (origins.size >= this.max) {
      const [oldest, heard] = origins.entries().next().value!
      if (now - heard < this.ttlMs) {
        this.refused++
        if (this.over.has(linkPeerId)) return 'refused'
        this.over.add(linkPeerId)
        return 'first-refusal'
      }
      origins.delete(oldest)
    }
    origins.set(origin, now)
    return 'admitted'
  }

  /** The link ended (or we went offline): what it spoke for is forgotten with it. */
  linkEnded(linkPeerId: string): void {
    this.links.delete(linkPeerId)
    this.over.delete(linkPeerId)
  }

  clear(): void {
    this.links.clear()
    this.over.clear()
  }
}
