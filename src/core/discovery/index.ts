// Discovery for one session: the sources it asked for (mDNS and peer exchange by default, the DHT when
// enabled), the manager that turns their candidates into dials, and the optional WebSocket bridge.
import type { NetworkAdapterInterface } from '@automerge/automerge-repo/slim'
import type { PeerInfo } from '../net/types'
import { BridgeAdapter } from '../net/bridge-adapter'
import { DhtSource, type DhtSourceOptions } from './dht'
import { PeerExchange } from '../protocols/pex/exchange'
import { DiscoveryManager } from './manager'
import { MdnsSource } from './mdns'
import type { DiscoveryContext, DiscoveryNetwork, DiscoverySource, DiscoverySourceName } from './types'

export type { DiscoveryContext, DiscoveryHost, DiscoveryNetwork, DiscoverySource, DiscoverySourceName, PeerCandidate } from './types'
export { DiscoveryManager } from './manager'
export { PUBLIC_DHT_ROUTERS } from './dht'

export interface DiscoveryOptions {
  /** Find and announce peers of the bundle on the LAN. Default true. */
  mdns?: boolean
  /** Pass connected peers on to each other. Default true. */
  exchange?: boolean
  /** Mainline DHT. Default off; `true` joins through the public BitTorrent routers. */
  dht?: boolean | DhtSourceOptions
  /** Links discovery fills up to (DiscoveryLimits.maxLinks); default: no bound. */
  maxLinks?: number
}

export interface DiscoveryDeps {
  options: DiscoveryOptions
  bridge?: string
  /** The transport (the iroh adapter), seen through what discovery needs of it. */
  adapter: DiscoveryNetwork
  /** The session's bind address: 127.0.0.1 keeps mDNS on loopback. */
  bindAddr: string
  context: Omit<DiscoveryContext, 'offer' | 'lost'>
  /** Record how a peer was found (the session keeps the first label that is not 'incoming'). */
  label(endpointId: string, source: DiscoverySourceName | 'bridge'): void
}

export interface DiscoveryRuntime {
  readonly sourceNames: DiscoverySourceName[]
  /** Network adapters to add to the Repo (the bridge). */
  readonly extraAdapters: NetworkAdapterInterface[]
  start(): Promise<void>
  stop(): Promise<void>
  /** Offline: every source stopped and the bridge closed; `resume()` starts them again. */
  pause(): Promise<void>
  resume(): Promise<void>
  /** Peer rows for the bridge, if any. */
  bridgePeers(): PeerInfo[]
  /** The user disconnected / dialed a peer: discovery stops / resumes dialing it. */
  suppress(endpointId: string): void
  unsuppress(endpointId: string): void
}

export function createDiscovery(deps: DiscoveryDeps): DiscoveryRuntime {
  const { adapter, options } = deps
  const sources: DiscoverySource[] = []
  let manager: DiscoveryManager | undefined
  if (options.mdns !== false) {
    sources.push(new MdnsSource({ loopback: deps.bindAddr.startsWith('127.') ? true : undefined }))
  }
  if (options.exchange !== false) sources.push(new PeerExchange(adapter.channel, (id) => manager?.addressesOf(id) ?? []))
  if (options.dht) {
    const dhtOptions = options.dht === true ? {} : options.dht
    const bindHost = dhtOptions.bindHost ?? (deps.bindAddr.startsWith('127.') ? '127.0.0.1' : undefined)
    sources.push(new DhtSource({ ...dhtOptions, bindHost }))
  }
  manager = new DiscoveryManager({
    context: deps.context,
    sources,
    limits: options.maxLinks !== undefined ? { maxLinks: options.maxLinks } : undefined,
    host: {
      dial: (target, source) => {
        const endpointId = adapter.dial(target, { discovered: true })
        deps.label(endpointId, source)
      },
      status: (endpointId) => adapter.connectionStatus(endpointId),
      label: (endpointId, source) => deps.label(endpointId, source),
      // Only what discovery alone dialed: a ticket or known peer found again by mDNS keeps its redials.
      forget: (endpointId) => void adapter.forgetDiscovered(endpointId, 'discovery withdrew it'),
      connectedCount: () => adapter.channel.peers().length,
      trimCandidates: () => adapter.trimCandidates(),
      trim: (endpointId) => adapter.trim(endpointId),
      limitDiscoveredLinks: (above) => adapter.limitDiscoveredLinks(above),
    },
  })
  // The manager learns who is real (connected) and which senders of peer exchange left.
  const m = manager
  const offs = [
    adapter.channel.onPeerJoined((p) => m.peerConnected(p.endpointId)),
    adapter.channel.onPeerLeft((id) => m.peerLeft(id)),
    adapter.onDialDropped((id) => m.dialDropped(id)),
  ]
  const unsubscribe = () => {
    for (const off of offs.splice(0)) off()
  }
  const bridge = deps.bridge ? new BridgeAdapter(deps.bridge, deps.context.logger) : undefined
  if (bridge) deps.label(bridge.url, 'bridge')
  return {
    sourceNames: m.sourceNames,
    extraAdapters: bridge ? [bridge] : [],
    start: () => m.start(),
    stop: () => {
      unsubscribe()
      return m.stop()
    },
    pause: async () => {
      bridge?.pause()
      await m.pause()
    },
    resume: async () => {
      bridge?.resume()
      await m.resume()
    },
    bridgePeers: () => (bridge ? [bridge.peerInfo()] : []),
    suppress: (id) => m.suppress(id),
    unsuppress: (id) => m.unsuppress(id),
  }
}
