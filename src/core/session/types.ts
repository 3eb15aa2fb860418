// The Session's public shapes: options, the snapshot a UI renders, and its events. Kept apart from the
// lifecycle (session.ts) so front ends and the library import types without the class.
import type { ApproveBundleHints } from '../bundle/hints'
import type { DiscoveryOptions } from '../discovery'
import type { PeerInfo, PeerRefusedEvent, TraceEvent } from '../net/iroh-adapter'
import type { BulkCounters } from '../protocols/bulk/bulk'
import type { ReportedLink } from '../protocols/links/reports'
import type { PresencePeer } from '../../shared/presence'
import type { Logger } from '../../shared/log'

export type SessionState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

export interface SessionOptions {
  /** This peer's data dir: identity, storage, control socket. One process owns it at a time. */
  dataDir: string
  /** A name other peers see (default: user@host). */
  peerName?: string
  /** Default 0.0.0.0:0 (every interface); tests use 127.0.0.1:0. */
  bindAddr?: string
  /** Use iroh's public relays and DNS discovery (needs internet). Default off. */
  relays?: boolean
  maxFrameBytes?: number
  /** Tickets of peers to dial at start (the manifest's bootstrapPeers go through approveBundleHints). */
  connect?: string[]
  /**
   * Which of the bundle's own bootstrap peers to dial (the manifest's author chose them). Absent: all
   * of them at start, each logged (the CLI). The extension asks the user (src/core/bundle/hints.ts).
   */
  approveBundleHints?: ApproveBundleHints
  /** Serve `<dataDir>/control.sock` for `tonk-p2p doc`/`ticket`. Default true. */
  control?: boolean
  /** Entries kept in the sync trace. Default 2000. */
  traceLimit?: number
  /**
   * Private session: endpoint ids (64 hex) allowed to connect, added to the manifest's
   * sync.allowedPeers. With neither, any peer of the bundle may connect.
   */
  allowedPeers?: string[]
  /** Refuse to open a bundle not signed by this publisher key (64 hex): BundleError E_SIGNATURE. */
  requirePublisher?: string
  /** How peers are found besides tickets: mDNS and peer exchange on by default, the DHT off. */
  discovery?: DiscoveryOptions
  /** Also sync with an automerge-repo WebSocket sync server (`ws://host:7777/sync`). */
  bridge?: string
  /**
   * Bulk catch-up with peers that speak it: documents a peer lacks go as saved bytes in a few large
   * frames, besides normal sync (docs/discovery.md). Default true; off when maxFrameBytes is under
   * BULK_MIN_FRAME_LIMIT (peers would drop our 1 MiB frames).
   */
  bulk?: boolean
  /**
   * Take part in the app's presence (src/shared/presence.ts). Default true. A headless peer that only
   * keeps and passes on data (a backup) may stay out: it still passes others' presence on, but is not
   * listed and sends no heartbeats of its own.
   */
  presence?: boolean
  logger?: Logger
}

/** Whether a peer has every change of a document we have (from automerge-repo's per-peer sync info). */
export type DocSyncState = 'in-sync' | 'behind' | 'unknown'

/** How a peer was found; discovery sources add their own names. */
export type PeerSource = 'ticket' | 'bootstrap' | 'incoming' | 'mdns' | 'exchange' | 'dht' | 'known' | 'bridge'

export interface PeerSnapshot extends PeerInfo {
  source: PeerSource
  /** Per document id: whether this peer has our heads. */
  docs: Record<string, DocSyncState>
  /**
   * What this peer's participants share in the app's presence (shared/presence.ts): its session and
   * each open page, as they claim (any member may claim any endpoint id; shown, never trusted).
   */
  presence?: PeerPresence[]
  /** The peers this peer says it is linked to (its last link report; shown, never acted on). */
  links?: ReportedLink[]
  /**
   * Round trip of a ping through our framing (where link faults apply), in ms: what sync sees. The
   * QUIC RTT (`rttMs`) is below the framing and does not include a `link --delay`.
   */
  syncRttMs?: number
}

/** The peer behind an Automerge actor (Session.actorNames): this peer, or a peer that says it is its own. */
export type ActorName = { you: true; name: 'you' } | { endpointId: string; name: string }

export interface PeerPresence {
  kind: 'page' | 'session'
  /** The participant's own state (its channels, e.g. `{ place: 'porto' }`). */
  state: Record<string, unknown>
  lastActiveAt: number
}

export interface DocumentSnapshot {
  documentId: string
  url: string
  /** Path in the bundle's directory tree ('/' is the root directory). */
  path: string
  type: 'doc' | 'dir'
  heads: string[]
  /** Bytes of the document saved whole (Automerge.save), for loaded documents. */
  size?: number
}

export interface SessionSnapshot {
  state: SessionState
  bundle: { name: string; version: string; bundleId: string; namespace: string }
  endpointId?: string
  ticket?: string
  peerName: string
  online: boolean
  dataDir: string
  peers: PeerSnapshot[]
  refused: PeerRefusedEvent[]
  documents: DocumentSnapshot[]
  /** Bulk catch-up traffic of this run (absent when bulk is off). */
  bulk?: BulkCounters
}

export interface DocChangedEvent {
  documentId: string
  url: string
  path?: string
  heads: string[]
}

export interface SessionEvents {
  state: [SessionState]
  /** Something in the snapshot changed; at most every 100 ms (bursts are batched). */
  changed: []
  trace: [TraceEvent]
  'peer-refused': [PeerRefusedEvent]
  'doc-changed': [DocChangedEvent]
  /** Someone arrived, changed what they share, or left (not on heartbeats). */
  presence: [PresencePeer[]]
}
