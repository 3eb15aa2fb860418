// The one interface every discovery source implements (mDNS, peer exchange, DHT): a source is started
// with a context that tells it who we are and where to hand candidates, and stopped best-effort.
// Sources never dial: the DiscoveryManager filters (own bundle, not ourselves), deduplicates and
// rate-limits, then dials through its DiscoveryHost. Discovery never sees the adapter class: what it
// needs of the transport is DiscoveryNetwork (the adapter satisfies it), so the layers stay
// transport → protocols → discovery, as in js-libp2p.
// (The session's PeerSource, its "how did this peer come to us" label with 'ticket', 'known' and so
// on, is a different thing; a discovery source is a DiscoverySource.)
import type { TrimCandidate } from './trim'
import type { Logger } from '../../shared/log'
import type { ExtensionChannel } from '../net/extension-channel'
import type { Unsubscribe } from '../net/types'

/** How a peer was found; shown per peer by the session snapshot, `serve` and the Peers view. */
export type DiscoverySourceName = 'mdns' | 'exchange' | 'dht'

export interface PeerCandidate {
  /** 64 hex chars: the iroh endpoint id (ed25519 public key). */
  endpointId: string
  /** Direct `ip:port` addresses to try; may be empty when a ticket carries them. */
  addresses: string[]
  /** A full endpoint ticket, when the source has one (DHT records carry tickets). */
  ticket?: string
  source: DiscoverySourceName
  /**
   * The connected peer that passed this candidate on (peer exchange): only its word, so it is limited
   * per sender and dropped when the sender leaves unless we reached the peer or another source saw it.
   */
  via?: string
}

/** What a source knows about this peer and how it reports candidates. */
export interface DiscoveryContext {
  readonly endpointId: string
  /**
   * Key of the mDNS TXT tag (derived from the app's capability, bundle/capability.ts): only peers
   * holding the bundle can compute or check a tag, and the tag reveals nothing of the bundle.
   */
  readonly mdnsKey: Uint8Array
  /** What the DHT topic hashes: the manifest's `discovery.dhtKey`, else a key derived from the capability. */
  readonly dhtKey: string
  readonly mdnsService: string
  readonly protocolVersion: string
  /** This endpoint's current direct addresses (`ip:port`). */
  addresses(): string[]
  /** This endpoint's ticket, for records others dial. */
  ticket(): string
  /** The iroh secret key (32 bytes, ed25519 seed) for signing DHT records. */
  secretKey(): Promise<Uint8Array>
  /** Hand over a candidate already known to be of this bundle. */
  offer(candidate: PeerCandidate): void
  /** A source saw a peer go away (mDNS goodbye): stop redialing it unless it is connected. */
  lost(endpointId: string, source: DiscoverySourceName): void
  logger: Logger
}

export interface DiscoverySource {
  readonly name: DiscoverySourceName
  /** Also called again after `stop()` (going online after offline): a source must be restartable. */
  start(context: DiscoveryContext): Promise<void> | void
  /** Best effort; never throws (says goodbye where the protocol has one) and leaves no socket open. */
  stop(): Promise<void>
  /** This endpoint's addresses changed: re-announce. */
  addressesChanged?(): void
}

/** How the manager acts on candidates: the session wires it to the transport (discovery/index.ts). */
export interface DiscoveryHost {
  /**
   * Dial a ticket or `<id>@<ip:port>,…` as a discovered peer (redialed with back-off, dropped after a few
   * failed dials); may throw (E_DIAL_LIMIT: the adapter dials as many discovered peers as it takes).
   */
  dial(target: string, source: DiscoverySourceName): void
  /** 'connected' peers need nothing; 'dialing' ones are in the adapter's back-off already. */
  status(endpointId: string): 'connected' | 'dialing' | 'unknown'
  /** A connected (or dialed) peer was also found by this source: the session may relabel 'incoming'. */
  label(endpointId: string, source: DiscoverySourceName): void
  /** Stop redialing a peer discovery dialed (it said goodbye, or whoever told us about it left). */
  forget(endpointId: string): void
  /** Peers connected now (for DiscoveryLimits.maxLinks). */
  connectedCount(): number
  /** Connected peers that dialed us on their discovery's word: the links we may trim. */
  trimCandidates(): TrimCandidate[]
  /** Close one of them (it does not redial: it looks for another peer). */
  trim(endpointId: string): void
  /** From this many links on, turn such peers away at the door (after the handshake, before sync). */
  limitDiscoveredLinks(above: number): void
}

/** What discovery needs of the transport (IrohNetworkAdapter satisfies it). */
export interface DiscoveryNetwork {
  /** Dials a discovered peer (within the discovered-dial limits); returns its endpoint id. */
  dial(target: string, options: { discovered: true }): string
  connectionStatus(endpointId: string): 'connected' | 'dialing' | 'unknown'
  /** Stops dialing a peer only discovery asked for; false if a person's dial keeps it. */
  forgetDiscovered(endpointId: string, reason: string): boolean
  /** The transport gave up on a discovered peer. */
  onDialDropped(listener: (endpointId: string) => void): Unsubscribe
  trimCandidates(): TrimCandidate[]
  trim(endpointId: string): void
  limitDiscoveredLinks(above: number): void
  /** Peers joining and leaving, and peer exchange's frames. */
  readonly channel: ExtensionChannel
}
