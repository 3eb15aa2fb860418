// Turns what the peer sources report into dials. Sources only say "endpoint X of this bundle may be at
// these addresses"; the manager drops ourselves and malformed candidates, labels peers we are already
// connected to, and dials the rest through the session. A source that re-announces (mDNS answers every
// query, the DHT is re-read, every new connection triggers peer exchange) must not cause a redial
// storm: a peer already dialed keeps the adapter's own jittered back-off unless its addresses change,
// and even then it is redialed at most once per `minRedialMs`.
// What a peer passes on (peer exchange) is only its word: each sender may name a bounded number of
// peers we never reached, at a bounded rate, and they are dropped when it leaves; the whole table of
// candidates is bounded too (docs/discovery.md, "Limits").
import { firstLine, HEX64 } from '../util/text'
import { TokenBucket } from '../net/rate-limit'
import { linksToTrim } from './trim'
import type { DiscoveryContext, DiscoveryHost, DiscoverySource, DiscoverySourceName, PeerCandidate } from './types'

export type { DiscoveryHost } from './types'

/** Limits on what discovery remembers and on what one peer passing others on may make us do. */
export interface DiscoveryLimits {
  /** Candidates remembered (`seen`); past it the oldest one we neither dial nor are connected to goes. */
  maxCandidates?: number
  /** Peers one sender may name that nothing else vouches for and we never reached. */
  maxRelayedPerSender?: number
  /** Entries one sender may pass on per second… */
  relayedPerSecond?: number
  /** …with bursts of this many (a newcomer gets all of a peer's peers at once). */
  relayedBurst?: number
  /** Senders tracked at once (they are connected peers; this is a backstop). */
  maxSenders?: number
  /** After the adapter gave up on a peer, a relayed offer does not redial it for this long. */
  relayedRetryMs?: number
  /** Peers the user disconnected that are remembered (oldest forgotten first). */
  maxSuppressed?: number
  /**
   * Links discovery fills up to: while this many peers are connected or being dialed for discovery,
   * further candidates wait (standby) and are dialed when a link ends. Peers that dial us and peers a
   * person named (tickets, known peers) are not held back. Default: no bound (every peer of the
   * bundle it hears of, as on a LAN). With 50 peers a bound keeps each from re-syncing with 49 others:
   * automerge-repo passes a change on hop by hop, so a connected mesh still converges.
   */
  maxLinks?: number
  /**
   * With maxLinks set: above this many connected peers, links others dialed on their discovery's word
   * are closed (trim.ts), newest first, once `trimGraceMs` old. Default 2 × maxLinks.
   */
  trimAbove?: number
  /** How long a discovered inbound link is kept before it may be trimmed (peer exchange runs first). */
  trimGraceMs?: number
}

export const DEFAULT_DISCOVERY_LIMITS: Readonly<Required<DiscoveryLimits>> = Object.freeze({
  maxCandidates: 256,
  maxRelayedPerSender: 16,
  relayedPerSecond: 1,
  relayedBurst: 64,
  maxSenders: 256,
  relayedRetryMs: 5 * 60_000,
  maxSuppressed: 1024,
  maxLinks: Number.POSITIVE_INFINITY,
  trimAbove: Number.POSITIVE_INFINITY,
  trimGraceMs: 10_000,
})

export interface DiscoveryManagerOptions {
  context: Omit<DiscoveryContext, 'offer' | 'lost'>
  host: DiscoveryHost
  sources: DiscoverySource[]
  /** Re-announce when our addresses change; checked this often. Default 2000 ms. */
  addressPollMs?: number
  /** Least time between two dials of one peer forced by new addresses. Default 1000 ms. */
  minRedialMs?: number
  limits?: DiscoveryLimits
}

interface Seen {
  /** Where we dial it. */
  addresses: string[]
  /** Where the peer itself says it is (mDNS, its signed DHT record): what peer exchange passes on. */
  vouched: string[]
  source: DiscoverySourceName
  lastDialAt: number
  /** We dialed it because of a discovery source (so a goodbye may stop the redials). */
  dialedByDiscovery: boolean
  /** We were connected to it, or a source other than peer exchange reported it. */
  confirmed: boolean
  /** Until confirmed: the peers that passed it on. When the last of them leaves, it is dropped. */
  via: Set<string>
  /** When the adapter last gave up dialing it (too many failed dials). */
  gaveUpAt?: number
  /** Not dialed because maxLinks links were up: dialed when one ends. */
  standby?: { ticket?: string }
}

/** A peer that passes others on (peer exchange). */
interface Sender {
  bucket: TokenBucket
  /** Unconfirmed candidates it named. */
  named: Set<string>
}

const MAX_ADDRESSES = 16

export class DiscoveryManager {
  private readonly seen = new Map<string, Seen>()
  private readonly senders = new Map<string, Sender>()
  /** Peers the user disconnected: discovery leaves them alone until they are dialed explicitly. */
  private readonly suppressed = new Set<string>()
  private readonly limits: Required<DiscoveryLimits>
  private readonly context: DiscoveryContext
  private readonly started: DiscoverySource[] = []
  private addressTimer?: NodeJS.Timeout
  private lastAddresses = ''
  private stopped = false
  /** Offline: every source stopped (mDNS said goodbye, the DHT node is closed), no offer is dialed. */
  private paused = false

  constructor(private readonly options: DiscoveryManagerOptions) {
    this.limits = { ...DEFAULT_DISCOVERY_LIMITS, ...options.limits }
    if (options.limits?.trimAbove === undefined && Number.isFinite(this.limits.maxLinks)) this.limits.trimAbove = 2 * this.limits.maxLinks
    this.context = {
      ...options.context,
      offer: (c) => this.offer(c),
      lost: (id, source) => this.lost(id, source),
    }
  }

  get sourceNames(): DiscoverySourceName[] {
    return this.options.sources.map((s) => s.name)
  }

  /** Starts every source; one that fails to start is logged and left out, the others run. */
  async start(): Promise<void> {
    this.options.host.limitDiscoveredLinks(this.limits.trimAbove)
    this.lastAddresses = this.context.addresses().join(',')
    await Promise.all(
      this.options.sources.map(async (source) => {
        try {
          await source.start(this.context)
          if (this.stopped || this.paused) await source.stop()
          else this.started.push(source)
        } catch (err) {
          this.context.logger.warn(`discovery: ${source.name} did not start: ${firstLine(err)}`)
          await source.stop().catch(() => {})
        }
      }),
    )
    if (this.stopped || this.paused) return
    this.addressTimer = setInterval(() => {
      this.checkAddresses()
      this.trimLinks()
    }, this.options.addressPollMs ?? 2000)
    this.addressTimer.unref?.()
  }

  /** Best effort, never throws: sources say goodbye where they can. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.stopSources()
    this.seen.clear()
    this.senders.clear()
  }

  /**
   * Going offline: every source stops as at `stop()` (mDNS goodbye and socket closed, DHT node
   * closed, peer exchange unsubscribed), so nothing is announced, answered or looked up, and no
   * offer is dialed. `resume()` starts them again. Never throws.
   */
  async pause(): Promise<void> {
    if (this.paused || this.stopped) return
    this.paused = true
    await this.stopSources()
  }

  async resume(): Promise<void> {
    if (!this.paused || this.stopped) return
    this.paused = false
    await this.start()
  }

  private async stopSources(): Promise<void> {
    if (this.addressTimer) clearInterval(this.addressTimer)
    this.addressTimer = undefined
    const running = this.started.splice(0)
    await Promise.all(running.map((s) => s.stop().catch(() => {})))
  }

  /**
   * Addresses the peer itself reported (mDNS, its DHT record), for peer exchange to pass on. Never what
   * another peer passed on: a liar's addresses must not travel further than to us.
   */
  addressesOf(endpointId: string): string[] {
    return this.seen.get(endpointId)?.vouched ?? []
  }

  /** Candidates remembered, and peers passing others on (for tests and logs). */
  get sizes(): { candidates: number; senders: number } {
    return { candidates: this.seen.size, senders: this.senders.size }
  }

  /** The user disconnected this peer: do not dial it again on a discovery's say-so. */
  suppress(endpointId: string): void {
    this.suppressed.delete(endpointId)
    this.suppressed.add(endpointId)
    if (this.suppressed.size > this.limits.maxSuppressed) this.suppressed.delete(this.suppressed.values().next().value!)
  }

  /** The user dialed this peer explicitly: discovery may dial it again. */
  unsuppress(endpointId: string): void {
    this.suppressed.delete(endpointId)
  }

  offer(candidate: PeerCandidate): void {
    if (this.stopped || this.paused) return
    const { endpointId, source, via } = candidate
    if (this.suppressed.has(endpointId)) return
    if (!HEX64.test(endpointId) || endpointId === this.context.endpointId || endpointId === via) return
    const addresses = [...new Set(candidate.addresses.filter(isSocketAddress))].slice(0, MAX_ADDRESSES)
    if (addresses.length === 0 && !candidate.ticket) return
    const now = Date.now()
    const previous = this.seen.get(endpointId)
    let sender: Sender | undefined
    if (via !== undefined) {
      // Only its word: charged to the sender, and bounded per sender.
      sender = this.senderOf(via, now)
      if (!sender || sender.bucket.takeOrWait(now) > 0) return
      if (!previous?.confirmed && !sender.named.has(endpointId) && sender.named.size >= this.limits.maxRelayedPerSender) return
    }
    if (!previous && !this.makeRoom()) return
    const status = this.options.host.status(endpointId)
    const merged = previous ? [...new Set([...addresses, ...previous.addresses])].slice(0, MAX_ADDRESSES) : addresses
    const entry: Seen = previous ?? { addresses: merged, vouched: [], source, lastDialAt: 0, dialedByDiscovery: false, confirmed: false, via: new Set() }
    const newAddresses = merged.length !== entry.addresses.length || merged.some((a) => !entry.addresses.includes(a))
    entry.addresses = merged
    this.seen.set(endpointId, entry)
    if (via === undefined) entry.vouched = [...new Set([...addresses, ...entry.vouched])].slice(0, MAX_ADDRESSES)
    if (via === undefined || status === 'connected') this.confirm(endpointId, entry)
    else if (!entry.confirmed) {
      entry.via.add(via)
      sender!.named.add(endpointId)
    }
    if (status === 'connected') {
      this.options.host.label(endpointId, source)
      return
    }
    // Already in the adapter's back-off with nothing new to try: leave it to the back-off.
    if (status === 'dialing' && !newAddresses && !candidate.ticket) return
    if (status === 'dialing' && now - entry.lastDialAt < (this.options.minRedialMs ?? 1000)) return
    // The adapter gave up on it: another peer's word does not start the dials again soon.
    if (via !== undefined && entry.gaveUpAt !== undefined && now - entry.gaveUpAt < this.limits.relayedRetryMs) return
    entry.source = source
    if (status === 'unknown' && this.linksInUse() >= this.limits.maxLinks) {
      entry.standby = { ticket: candidate.ticket }
      return
    }
    this.dialEntry(endpointId, entry, candidate.ticket, now)
  }

  private dialEntry(endpointId: string, entry: Seen, ticket: string | undefined, now: number): void {
    entry.lastDialAt = now
    entry.dialedByDiscovery = true
    entry.standby = undefined
    const target = ticket ?? `${endpointId}@${entry.addresses.join(',')}`
    try {
      this.options.host.dial(target, entry.source)
      this.context.logger.debug(`discovery: dialing ${endpointId.slice(0, 10)} found by ${entry.source} at ${entry.addresses.join(', ')}`)
    } catch (err) {
      // Not a key, or the adapter dials all the discovered peers it takes: nothing to remember it for.
      if (this.options.host.status(endpointId) === 'unknown') this.remove(endpointId, entry)
      this.context.logger.debug(`discovery: cannot dial ${endpointId.slice(0, 10)} from ${entry.source}: ${firstLine(err)}`)
    }
  }

  /** Connected peers plus discovery's dials still in flight: what maxLinks bounds. */
  private linksInUse(): number {
    if (!Number.isFinite(this.limits.maxLinks)) return 0
    let dialing = 0
    for (const [id, entry] of this.seen) if (entry.dialedByDiscovery && this.options.host.status(id) === 'dialing') dialing++
    return this.options.host.connectedCount() + dialing
  }

  /** A link ended: dial peers on standby (the most recently offered first) up to maxLinks again. */
  private fillLinks(): void {
    if (!Number.isFinite(this.limits.maxLinks) || this.stopped || this.paused) return
    const waiting = [...this.seen].filter(([id, e]) => e.standby && !this.suppressed.has(id) && this.options.host.status(id) === 'unknown').reverse()
    let room = this.limits.maxLinks - this.linksInUse()
    const now = Date.now()
    for (const [id, entry] of waiting) {
      if (room-- <= 0) break
      if (entry.gaveUpAt !== undefined && now - entry.gaveUpAt < this.limits.relayedRetryMs) continue
      this.dialEntry(id, entry, entry.standby!.ticket, now)
    }
  }

  /** Too many links: close some that others dialed on their discovery's word (trim.ts). */
  trimLinks(now = Date.now()): void {
    if (!Number.isFinite(this.limits.trimAbove) || this.stopped || this.paused) return
    const over = this.options.host.connectedCount() - this.limits.trimAbove
    if (over <= 0) return
    const ids = linksToTrim(this.options.host.trimCandidates(), over, now, this.limits.trimGraceMs)
    for (const id of ids) this.options.host.trim(id)
    if (ids.length) this.context.logger.debug(`discovery: ${ids.length} link(s) over ${this.limits.trimAbove} closed (found through discovery by their dialers)`)
  }

  lost(endpointId: string, source: DiscoverySourceName): void {
    const entry = this.seen.get(endpointId)
    if (!entry || entry.source !== source || !entry.dialedByDiscovery) return
    if (this.options.host.status(endpointId) === 'connected') return
    this.remove(endpointId, entry)
    this.options.host.forget(endpointId)
    this.context.logger.debug(`discovery: ${endpointId.slice(0, 10)} left (${source}); not redialing it`)
  }

  /** We are connected to this peer: it is real, whoever told us about it. */
  peerConnected(endpointId: string): void {
    const entry = this.seen.get(endpointId)
    if (entry) this.confirm(endpointId, entry)
  }

  /**
   * A connected peer left. What it alone told us about and we never reached is dropped, and no longer
   * dialed: a liar's list does not outlive its connection.
   */
  peerLeft(endpointId: string): void {
    this.fillLinksSoon()
    const sender = this.senders.get(endpointId)
    if (!sender) return
    this.senders.delete(endpointId)
    let dropped = 0
    for (const id of sender.named) {
      const entry = this.seen.get(id)
      if (!entry) continue
      entry.via.delete(endpointId)
      if (entry.confirmed || entry.via.size > 0) continue
      if (this.options.host.status(id) === 'connected') {
        this.confirm(id, entry)
        continue
      }
      this.seen.delete(id)
      if (entry.dialedByDiscovery) this.options.host.forget(id)
      dropped++
    }
    if (dropped) this.context.logger.debug(`discovery: ${endpointId.slice(0, 10)} left; dropped ${dropped} peer(s) only it had named`)
  }

  /** The adapter stopped dialing a discovered peer (too many failed dials). */
  dialDropped(endpointId: string): void {
    const entry = this.seen.get(endpointId)
    if (entry) entry.gaveUpAt = Date.now()
    this.fillLinksSoon()
  }

  /** After the adapter's own bookkeeping of the event that freed a link. */
  private fillLinksSoon(): void {
    if (Number.isFinite(this.limits.maxLinks)) setImmediate(() => this.fillLinks())
  }

  private senderOf(endpointId: string, now: number): Sender | undefined {
    let sender = this.senders.get(endpointId)
    if (!sender && this.senders.size < this.limits.maxSenders) {
      sender = { bucket: new TokenBucket(this.limits.relayedPerSecond, this.limits.relayedBurst, now), named: new Set() }
      this.senders.set(endpointId, sender)
    }
    return sender
  }

  private confirm(endpointId: string, entry: Seen): void {
    entry.confirmed = true
    for (const v of entry.via) this.senders.get(v)?.named.delete(endpointId)
    entry.via.clear()
  }

  private remove(endpointId: string, entry: Seen): void {
    this.seen.delete(endpointId)
    for (const v of entry.via) this.senders.get(v)?.named.delete(endpointId)
  }

  /** Room for one more candidate: the oldest one we neither dial nor are connected to goes. */
  private makeRoom(): boolean {
    if (this.seen.size < this.limits.maxCandidates) return true
    for (const [id, entry] of this.seen) {
      if (this.options.host.status(id) !== 'unknown') continue
      this.remove(id, entry)
      return true
    }
    return false
  }

  private checkAddresses(): void {
    const now = this.context.addresses().join(',')
    if (now === this.lastAddresses) return
    this.context.logger.info(`discovery: addresses changed to ${now || 'none'}; re-announcing`)
    this.lastAddresses = now
    for (const s of this.started) s.addressesChanged?.()
  }
}

/** `1.2.3.4:5` or `[::1]:5`, port 1..65535. */
export function isSocketAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 64) return false
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.%\w]+)\]):(\d{1,5})$/.exec(value)
  if (!m) return false
  const port = Number(m[3])
  if (port < 1 || port > 65535) return false
  return m[1] ? m[1].split('.').every((o) => Number(o) <= 255) : true
}
