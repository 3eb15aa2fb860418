// The shapes the network layer reports, kept apart from the adapter class so that whoever only reads
// them (peers views, the bridge's row, the request gate, protocols, discovery) depends on no transport.
import type { Message, PeerId } from '@automerge/automerge-repo/slim'
import type { FaultInfo } from './link-fault'

/**
 * standby: transport up, handshake waits for connect(); reconnecting: between two connections of a
 * duplicate swap; backoff: a dialed peer waiting for its next attempt.
 */
export type PeerConnectionState =
  | 'dialing'
  | 'backoff'
  | 'standby'
  | 'handshaking'
  | 'connected'
  | 'reconnecting'
  | 'offline'
  /** Disconnected by this session's user (rows kept by the session, see recent-peers.ts). */
  | 'disconnected'

export interface PeerPath {
  kind: 'direct' | 'relay'
  remoteAddr: string
  rttMs: number
}

/** One row of a peers view. */
export interface PeerInfo {
  endpointId: string
  peerId?: PeerId
  name?: string
  state: PeerConnectionState
  direction?: 'inbound' | 'outbound'
  path?: PeerPath
  rttMs?: number
  /** Frame bytes (headers included) over this peer's connections since it connected. */
  bytesIn: number
  bytesOut: number
  connectedAt?: number
  lastSeen?: number
  /** When the next dial happens, for peers in back-off. */
  nextAttemptAt?: number
  /** Why the last dial or connection failed. */
  lastError?: string
  /** True for peers this adapter redials. */
  dialed: boolean
  /** The bundleId the peer serves (another build of the app when it differs from ours). */
  build?: string
  /** Live QUIC connections to this endpoint: 1 normally, 2 while a duplicate is being retired. */
  connections: number
  /** What the peer's hello listed beyond automerge-repo messages (connected peers only). */
  features?: string[]
  /** A fault this session's user put on the link (link-fault.ts), with frames dropped/delayed so far. */
  fault?: FaultInfo
}

export interface PeerRefusedEvent {
  endpointId: string
  code: string
  reason: string
  by: 'local' | 'remote'
  direction: 'inbound' | 'outbound'
}

export interface PeerClosedEvent {
  endpointId: string
  peerId?: PeerId
  code: string
  reason: string
}

export interface TraceEvent {
  direction: 'in' | 'out'
  endpointId: string
  peerId: PeerId
  type: string
  documentId?: string
  /** Frame size, header included. */
  bytes: number
  at: number
  /** Set when a link fault touched the frame: 'dropped' or 'delayed 200ms'. */
  fault?: string
}

export interface IrohAdapterEvents {
  'peer-connected': [PeerInfo]
  'peer-refused': [PeerRefusedEvent]
  'peer-closed': [PeerClosedEvent]
  /** One per message sent or received; only computed while someone listens. */
  trace: [TraceEvent]
  /** Online/offline and other state a status bar shows. */
  'state-changed': [{ online: boolean }]
  /** A frame of ours (type `tonk/…`, e.g. peer exchange) from a connected peer; never given to the Repo. */
  'extension-message': [{ endpointId: string; message: Record<string, unknown> }]
  /** A discovered peer is no longer dialed (it failed too often, or discovery withdrew it). */
  'dial-dropped': [{ endpointId: string; reason: string }]
}

/**
 * What to do with an automerge-repo message from a peer before the Repo sees it, and what it costs in
 * the peer's rate limit (in ordinary messages). The docs layer decides (protocols/sync/request-gate.ts): the
 * adapter only knows frames, not which documents exist.
 */
export type MessageVerdict =
  | { action: 'deliver'; cost: number }
  /** Answer `doc-unavailable` ourselves; the Repo never sees the message. */
  | { action: 'answer-unavailable'; cost: number }
  /** Ignore it. */
  | { action: 'drop'; cost: number }
export type MessageGate = (message: Message) => MessageVerdict

export type Unsubscribe = () => void
