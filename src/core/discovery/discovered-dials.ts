// Limits on the dials discovery asks for (mDNS, peer exchange, the DHT), as opposed to the peers a
// person gave (tickets, known peers, the bundle's bootstrap peers), which are redialed with back-off for
// as long as the session runs. What discovery offers comes from other machines, and any peer holding the
// bundle may lie: without these limits every offer became a target redialed forever (security issue 12:
// 6,400 fake ids from one peer made 3,229 targets, +700 MiB, thousands of packets/s to addresses the
// attacker chose, still going after it left). See docs/discovery.md, "Limits".

export interface DiscoveredDialLimits {
  /** Discovered peers dialed at once that we are not connected to; further ones are refused (E_DIAL_LIMIT). */
  maxTargets?: number
  /** Failed dials in a row (since the last connection) after which a discovered peer is forgotten. */
  maxFailures?: number
  /** Dial attempts of discovered peers per second, all of them together (a token bucket)… */
  dialsPerSecond?: number
  /** …of this many tokens. */
  burst?: number
}

export const DEFAULT_DISCOVERED_DIAL_LIMITS: Readonly<Required<DiscoveredDialLimits>> = Object.freeze({
  maxTargets: 32,
  maxFailures: 5,
  dialsPerSecond: 2,
  burst: 8,
})

/** Every dial target, a person's included: more than this many tickets is not a person at work. */
export const MAX_DIAL_TARGETS = 1024

export class DialLimitError extends Error {
  override name = 'DialLimitError'
  readonly code = 'E_DIAL_LIMIT'
}

export function discoveredDialLimits(options: DiscoveredDialLimits = {}): Required<DiscoveredDialLimits> {
  const o = { ...DEFAULT_DISCOVERED_DIAL_LIMITS, ...options }
  for (const [k, v] of Object.entries(o)) {
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`discovered dial limit ${k} must be a positive number, got ${v}`)
  }
  return o
}
