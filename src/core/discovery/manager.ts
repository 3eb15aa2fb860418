// Turns what the peer sources report into dials. Sources only say "endpoint X of this bundle may be at
// these addresses"; the manager drops ourselves and malformed candidates, labels peers we are already
// connected to, and dials the rest through the session. A source that re-announces (mDNS answers every
// query, the DHT is re-read, every new connection triggers peer exchange) must not cause a redial
// storm: a peer already dialed keeps the adapter's own jittered back-off unless its addresses change,
// and even then it is redialed at most once per `minRedialMs`.
import { firstLine } from '../net/endpoint'
import type { DiscoveryContext, DiscoverySourceName, PeerCandidate, PeerSource } from './types'

export interface DiscoveryHost {
  /** Dial (and keep redialing with back-off) a ticket or `<id>@<ip:port>,…`; returns the endpoint id. */
  dial(target: string, source: DiscoverySourceName): void
  /** 'connected' peers need nothing; 'dialing' ones are in the adapter's back-off already. */
  status(endpointId: string): 'connected' | 'dialing' | 'unknown'
  /** A connected (or dialed) peer was also found by this source: the session may relabel 'incoming'. */
  label(endpointId: string, source: DiscoverySourceName): void
  /** Stop redialing a peer that is not connected (it said goodbye). */
  forget(endpointId: string): void
}

export interface DiscoveryManagerOptions {
  context: Omit<DiscoveryContext, 'offer' | 'lost'>
  host: DiscoveryHost
  sources: PeerSource[]
  /** Re-announce when our addresses change; checked this often. Default 2000 ms. */
  addressPollMs?: number
  /** Least time between two dials of one peer forced by new addresses. Default 1000 ms. */
  minRedialMs?: number
}

interface Seen {
  addresses: string[]
  source: DiscoverySourceName
  lastDialAt: number
  /** We dialed it because of a discovery source (so a goodbye may stop the redials). */
  dialedByDiscovery: boolean
}

const ENDPOINT_ID = /^[0-9a-f]{64}$/
const MAX_ADDRESSES = 16

export class DiscoveryManager {
  private readonly seen = new Map<string, Seen>()
  /** Peers the user disconnected: discovery leaves them alone until they are dialed explicitly. */
  private readonly suppressed = new Set<string>()
  private readonly context: DiscoveryContext
  private readonly started: PeerSource[] = []
  private addressTimer?: NodeJS.Timeout
  private lastAddresses = ''
  private stopped = false
  /** Offline: every source stopped (mDNS said goodbye, the DHT node is closed), no offer is dialed. */
  private paused = false

  constructor(private readonly options: DiscoveryManagerOptions) {
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
    this.addressTimer = setInterval(() => this.checkAddresses(), this.options.addressPollMs ?? 2000)
    this.addressTimer.unref?.()
  }

  /** Best effort, never throws: sources say goodbye where they can. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.stopSources()
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

  /** Addresses a peer was last reported at (for peer exchange). */
  addressesOf(endpointId: string): string[] {
    return this.seen.get(endpointId)?.addresses ?? []
  }

  /** The user disconnected this peer: do not dial it again on a discovery's say-so. */
  suppress(endpointId: string): void {
    this.suppressed.add(endpointId)
  }

  /** The user dialed this peer explicitly: discovery may dial it again. */
  unsuppress(endpointId: string): void {
    this.suppressed.delete(endpointId)
  }

  offer(candidate: PeerCandidate): void {
    if (this.stopped || this.paused) return
    const { endpointId, source } = candidate
    if (this.suppressed.has(endpointId)) return
    if (!ENDPOINT_ID.test(endpointId) || endpointId === this.context.endpointId) return
    const addresses = [...new Set(candidate.addresses.filter(isSocketAddress))].slice(0, MAX_ADDRESSES)
    if (addresses.length === 0 && !candidate.ticket) return
    const status = this.options.host.status(endpointId)
    const previous = this.seen.get(endpointId)
    const now = Date.now()
    const merged = previous ? [...new Set([...addresses, ...previous.addresses])].slice(0, MAX_ADDRESSES) : addresses
    const entry: Seen = previous ?? { addresses: merged, source, lastDialAt: 0, dialedByDiscovery: false }
    const newAddresses = merged.length !== entry.addresses.length || merged.some((a) => !entry.addresses.includes(a))
    entry.addresses = merged
    this.seen.set(endpointId, entry)
    if (status === 'connected') {
      this.options.host.label(endpointId, source)
      return
    }
    // Already in the adapter's back-off with nothing new to try: leave it to the back-off.
    if (status === 'dialing' && !newAddresses && !candidate.ticket) return
    if (status === 'dialing' && now - entry.lastDialAt < (this.options.minRedialMs ?? 1000)) return
    entry.lastDialAt = now
    entry.source = source
    entry.dialedByDiscovery = true
    const target = candidate.ticket ?? `${endpointId}@${merged.join(',')}`
    try {
      this.options.host.dial(target, source)
      this.context.logger.debug(`discovery: dialing ${endpointId.slice(0, 10)} found by ${source} at ${merged.join(', ')}`)
    } catch (err) {
      this.context.logger.debug(`discovery: cannot dial ${endpointId.slice(0, 10)} from ${source}: ${firstLine(err)}`)
    }
  }

  lost(endpointId: string, source: DiscoverySourceName): void {
    const entry = this.seen.get(endpointId)
    if (!entry || entry.source !== source || !entry.dialedByDiscovery) return
    if (this.options.host.status(endpointId) === 'connected') return
    this.seen.delete(endpointId)
    this.options.host.forget(endpointId)
    this.context.logger.debug(`discovery: ${endpointId.slice(0, 10)} left (${source}); not redialing it`)
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
