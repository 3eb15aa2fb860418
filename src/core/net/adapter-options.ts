// What an IrohNetworkAdapter is built from. Defaults are the adapter's (iroh-adapter.ts, dialer.ts,
// links.ts); every limit here is one the security tests lean on.
import type { AllowPeer, HelloInfo } from './handshake'
import type { IrohEndpoint } from './iroh'
import type { RateLimitOptions } from './rate-limit'
import type { StreamWriterOptions } from './stream-writer'
import type { DiscoveredDialLimits } from '../discovery/discovered-dials'
import type { Logger } from '../../shared/log'
import type { DialClock } from './dialer'

export interface IrohNetworkAdapterOptions {
  endpoint: IrohEndpoint
  hello: HelloInfo
  /**
   * The app's handshake key (32 bytes; `deriveKey(capability.secret, 'handshake')`): peers prove they
   * hold it before either says anything about itself (handshake.ts).
   */
  handshakeKey: Uint8Array
  logger?: Logger
  /** Largest message frame accepted or sent; default 16 MiB. */
  maxFrameBytes?: number
  /** Private bundles: return false to refuse an endpoint (decided on its id, before our hello is sent). */
  allowPeer?: AllowPeer
  /**
   * True when another adapter of the same Repo (or the Repo itself) holds this automerge peer id
   * (peer-claims.ts): such a hello is refused with E_PEER_ID_TAKEN like a collision between two
   * iroh peers.
   */
  peerIdTaken?: (peerId: string) => boolean
  handshakeTimeoutMs?: number
  /** Give up on one dial attempt after this long (iroh's own timeout is 30 s). */
  dialTimeoutMs?: number
  /** Redial back-off: initial delay, cap, and relative jitter (0.5 = ±50%). */
  backoff?: { initialMs?: number; maxMs?: number; jitter?: number }
  /** A retired duplicate connection is closed after this long even if the remote never finishes it. */
  retireTimeoutMs?: number
  writer?: Pick<StreamWriterOptions, 'batchBytes' | 'highWaterMark' | 'hardLimitBytes'>
  /** Per-peer limits on messages and bytes received (see rate-limit.ts); false turns them off. */
  rateLimit?: RateLimitOptions | false
  /**
   * Bytes all peers' partial large frames may hold together (frame-budget.ts); default 64 MiB, and
   * never less than two maximal frames.
   */
  frameBudgetBytes?: number
  /** Connections held at once (every state); more incoming ones are refused. Default 256. */
  maxConnections?: number
  /** Incoming connections before their handshake completes; more are refused. Default 64. */
  maxHalfOpen?: number
  /** Limits on dials discovery asks for (`dial(…, {discovered: true})`; see discovered-dials.ts). */
  discoveredDials?: DiscoveredDialLimits
  /**
   * How long another peer's presence waits before we pass it on, so that copies from our other
   * neighbours arrive first and we skip the peers that have it (ephemeral-relay.ts). Default 25 ms.
   */
  relayHoldMs?: number
  /**
   * Other peers' presence heartbeats go to a peer that takes digests in one frame this often (0: one
   * frame each, as automerge-repo sends them). Default 2,000 ms (heartbeats come every 10 s).
   */
  presenceDigestMs?: number
  /** Time, chance and timers of the dialer (tests). */
  clock?: DialClock
}
