// Zero-config LAN discovery over mDNS / DNS-SD with bonjour-service. Each peer publishes one service
// of the bundle's type (manifest `discovery.mdnsService`, e.g. `_tonk-sync._udp`) on its iroh UDP port,
// and browses for the same type. TXT entries (each ≤ 255 bytes, or bonjour silently never publishes):
//   v=2               this TXT layout
//   id=<endpoint id>  64 hex chars: what a dialer needs
//   n=<nonce>, b=<tag>  tag = HMAC-SHA256(key = the capability's mDNS key, "tonk/mdns/2|" + nonce),
//                     128 bits: a peer holding the bundle recomputes it, anyone else learns neither
//                     the app nor that two announcements belong to the same app (the nonce is new
//                     every run; the key derives from the app key, never from the public bundleId)
//   pv=<semver>       the bundle's sync protocol version
//   a0…a7=<ip:port>   iroh's direct addresses, one entry each
// Services of other bundles are dropped here, before anything is dialed.
//
// Timing (measured in namespaces): bonjour probes a name for ~0.9 s before announcing. Our instance
// name embeds the endpoint id, so a conflict means someone impersonates us and probing buys nothing:
// `probe: false` announces at once, and a late joiner's PTR query is answered in milliseconds.
import { networkInterfaces } from 'node:os'
import { randomBytes } from 'node:crypto'
import { Bonjour, type Browser, type Service } from 'bonjour-service'
import { firstLine, HEX64 } from '../util/text'
import { mdnsBundleTag, sameTag } from './keys'
import { isSocketAddress } from './manager'
import type { DiscoveryContext, DiscoverySource } from './types'

export const MDNS_TXT_VERSION = '2'
const MAX_TXT_ADDRESSES = 8
/** Re-query schedule (ms after start); then every REQUERY_MAX_MS. Answers re-offer every known service. */
const REQUERY_STEPS_MS = [1000, 3000, 10_000, 30_000]
const REQUERY_MAX_MS = 60_000

export interface MdnsSourceOptions {
  /** Multicast on loopback only (all peers on one machine; namespaces with only `lo`). Default: when
   * the session binds 127.0.0.1 or the host has no other interface. */
  loopback?: boolean
}

/** `_tonk-sync._udp` → bonjour's `{ type: 'tonk-sync', protocol: 'udp' }`. */
export function parseServiceType(service: string): { type: string; protocol: 'udp' | 'tcp' } {
  const m = /^_([a-z0-9-]+)\._(udp|tcp)$/.exec(service)
  if (!m) throw new Error(`"${service}" is not a DNS-SD service type like _tonk-sync._udp`)
  return { type: m[1]!, protocol: m[2] as 'udp' | 'tcp' }
}

export function mdnsTxt(context: Pick<DiscoveryContext, 'endpointId' | 'mdnsKey' | 'protocolVersion'>, nonce: string, addresses: string[]): Record<string, string> {
  const txt: Record<string, string> = {
    v: MDNS_TXT_VERSION,
    id: context.endpointId,
    n: nonce,
    b: mdnsBundleTag(context.mdnsKey, nonce),
    pv: context.protocolVersion,
  }
  addresses.slice(0, MAX_TXT_ADDRESSES).forEach((a, i) => (txt[`a${i}`] = a))
  return txt
}

/** What a TXT record says, if it is a peer of our bundle; undefined for anything else. */
export function readMdnsTxt(mdnsKey: Uint8Array, txt: unknown): { endpointId: string; addresses: string[] } | undefined {
  if (typeof txt !== 'object' || txt === null) return undefined
  const t = txt as Record<string, unknown>
  if (t.v !== MDNS_TXT_VERSION || typeof t.id !== 'string' || !HEX64.test(t.id)) return undefined
  if (typeof t.n !== 'string' || typeof t.b !== 'string' || t.n.length > 64) return undefined
  if (!sameTag(t.b, mdnsBundleTag(mdnsKey, t.n))) return undefined
  const addresses: string[] = []
  for (let i = 0; i < MAX_TXT_ADDRESSES; i++) if (isSocketAddress(t[`a${i}`])) addresses.push(t[`a${i}`] as string)
  return { endpointId: t.id, addresses }
}

function hasNonLoopbackInterface(): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => !a.internal))
}

export class MdnsSource implements DiscoverySource {
  readonly name = 'mdns' as const
  private bonjour?: Bonjour
  private service?: Service
  private browser?: Browser
  private context?: DiscoveryContext
  private readonly nonce = randomBytes(8).toString('hex')
  private requeryTimer?: NodeJS.Timeout
  private requeryStep = 0
  private readonly idsByFqdn = new Map<string, string>()

  constructor(private readonly options: MdnsSourceOptions = {}) {}

  start(context: DiscoveryContext): void {
    this.context = context
    // Restartable (offline → online): a fresh socket, the re-query schedule from the start.
    this.requeryStep = 0
    this.idsByFqdn.clear()
    const { type, protocol } = parseServiceType(context.mdnsService)
    const loopback = this.options.loopback ?? !hasNonLoopbackInterface()
    // multicast-dns sends on every interface by default; on loopback it needs the interface named.
    const socketOptions = loopback ? { interface: '127.0.0.1', bind: '0.0.0.0' } : {}
    this.bonjour = new Bonjour(socketOptions as object, (err: Error) => context.logger.debug(`mdns: ${firstLine(err)}`))
    this.publish()
    this.browser = this.bonjour.find({ type, protocol })
    this.browser.on('up', (s) => this.onService(s))
    this.browser.on('txt-update', (s) => this.onService(s))
    this.browser.on('srv-update', (s) => this.onService(s))
    this.browser.on('down', (s) => {
      const id = this.idsByFqdn.get(s.fqdn)
      this.idsByFqdn.delete(s.fqdn)
      if (id) context.lost(id, 'mdns')
    })
    this.scheduleRequery()
    context.logger.info(`mdns: announcing ${context.mdnsService} ${loopback ? 'on loopback' : 'on every interface'}`)
  }

  addressesChanged(): void {
    // A new TXT: goodbye for the old record, then announce the new one (bonjour has no TXT update).
    const old = this.service
    this.service = undefined
    if (old) old.stop?.(() => this.publish())
    else this.publish()
  }

  async stop(): Promise<void> {
    if (this.requeryTimer) clearTimeout(this.requeryTimer)
    const bonjour = this.bonjour
    this.bonjour = undefined
    if (!bonjour) return
    this.browser?.stop()
    this.browser = undefined
    this.service = undefined
    // Goodbye (TTL 0) so browsers drop us at once instead of after the record's TTL.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500)
      try {
        bonjour.unpublishAll(() => {
          clearTimeout(timer)
          resolve()
        })
      } catch {
        clearTimeout(timer)
        resolve()
      }
    })
    await new Promise<void>((resolve) => {
      try {
        bonjour.destroy(() => resolve())
      } catch {
        resolve()
      }
      setTimeout(resolve, 200).unref?.()
    })
  }

  private publish(): void {
    const context = this.context
    if (!this.bonjour || !context) return
    const addresses = context.addresses()
    const port = addresses.map((a) => Number(a.slice(a.lastIndexOf(':') + 1))).find((p) => p > 0)
    if (!port) {
      context.logger.debug('mdns: no address yet; announcing once the endpoint has one')
      return
    }
    const { type, protocol } = parseServiceType(context.mdnsService)
    const short = context.endpointId.slice(0, 16)
    this.service = this.bonjour.publish({
      name: `tonk-${context.endpointId.slice(0, 32)}`,
      type,
      protocol,
      port,
      // Every namespace (and many containers) share a hostname: A records must not collide.
      host: `tonk-${short}.local`,
      txt: mdnsTxt(context, this.nonce, addresses),
      probe: false,
    })
    this.service.on('error', (err: Error) => context.logger.warn(`mdns: cannot announce: ${firstLine(err)}`))
  }

  private onService(service: Service): void {
    const context = this.context
    if (!context) return
    const found = readMdnsTxt(context.mdnsKey, service.txt)
    if (!found) {
      context.logger.debug(`mdns: ignoring ${service.name} (not this bundle, or an unreadable TXT)`)
      return
    }
    this.idsByFqdn.set(service.fqdn, found.endpointId)
    if (found.endpointId === context.endpointId) return
    // The TXT addresses are iroh's own; add the address the answer came from with the SRV port.
    const addresses = [...found.addresses]
    const from = service.referer?.address
    if (from && service.port) addresses.push(from.includes(':') ? `[${from}]:${service.port}` : `${from}:${service.port}`)
    context.offer({ endpointId: found.endpointId, addresses, source: 'mdns' })
  }

  private scheduleRequery(): void {
    const delay = REQUERY_STEPS_MS[this.requeryStep] ?? REQUERY_MAX_MS
    const previous = REQUERY_STEPS_MS[this.requeryStep - 1] ?? 0
    this.requeryStep++
    this.requeryTimer = setTimeout(() => {
      if (!this.browser) return
      this.browser.update()
      // Re-offer what we know: a peer whose connection died meanwhile is dialed again (the manager
      // ignores connected peers and leaves dialing ones to their back-off).
      for (const s of this.browser.services) this.onService(s)
      this.scheduleRequery()
    }, Math.max(0, delay - (REQUERY_STEPS_MS.includes(delay) ? previous : 0)))
    this.requeryTimer.unref?.()
  }
}
