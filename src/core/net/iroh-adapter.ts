// automerge-repo NetworkAdapter over iroh QUIC. One connection per pair of peers, one bi-stream per
// connection, one CBOR-encoded automerge-repo message per length-prefixed frame (as upstream's
// WebSocket adapter does per WebSocket message).
//
// Lifecycle, from the Repo's point of view: `connect(peerId)` starts accepting and dialing;
// `peer-candidate` follows each completed handshake; `peer-disconnected` when the last connection to
// that peer ends; `disconnect()` closes everything (and `connect()` again resumes). The adapter does
// not own the endpoint: the session that created it closes it.
//
// Before the first `connect()` (phase 'idle') the adapter can already `listen()` and `dial()`: QUIC
// connections are set up and parked, and their handshakes run the moment the Repo connects. A Repo
// asked for a document before any peer is connected reports it unavailable, so starting the
// transport early (while storage loads) is worth it.
//
// Duplicate connections (both sides dial at once) are resolved like Hyperswarm does: both sides keep
// the connection dialed by the lower endpoint id. The loser is retired losslessly: each side stops
// sending on it, finishes its half, keeps reading until the other half ends, then closes it.
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import {
  cbor,
  NetworkAdapter,
  type Message,
  type PeerId,
  type PeerMetadata,
  type StorageId,
} from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../../shared/log'
import {
  alpnBytes,
  endpointIdOf,
  EndpointError,
  parseDialTarget,
  TONK_SYNC_ALPN,
  TONK_SYNC_ALPN_V1,
  type DialTarget,
} from './endpoint'
import { clampFrameLimit, FrameDecoder, FrameError, FRAME_HEADER_BYTES } from './framing'
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  HANDSHAKE_MAX_FRAME_BYTES,
  HANDSHAKE_VERSION,
  PERMANENT_REFUSALS,
  performHandshake,
  type AllowPeer,
  type HelloInfo,
  type HelloMessage,
  type Refusal,
} from './handshake'
import type { Connection, Incoming, IrohEndpoint, IrohEndpointAddr } from './iroh'
import { FrameReader } from './stream-reader'
import { DEFAULT_FRAME_BUDGET_BYTES, FrameBudget } from './frame-budget'
import { guardStreams } from './stream-guard'
import { DialLimitError, discoveredDialLimits, MAX_DIAL_TARGETS, type DiscoveredDialLimits } from '../discovery/discovered-dials'
import { PeerRateLimiter, TokenBucket, type RateLimitOptions } from './rate-limit'
import { StreamWriter, StreamWriterError, type StreamWriterOptions } from './stream-writer'
import { sleep, withTimeout } from '../util/async'
import { firstLine, shortId } from '../util/text'

/** QUIC application close codes this adapter uses (the reason text says more). */
export const CLOSE_CODE = {
  normal: 0,
  refused: 1,
  protocolError: 2,
  offline: 3,
  duplicate: 4,
  removed: 5,
} as const

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
}

/** Connections one endpoint may hold with us at once: a duplicate pair, a retiring one, a spare. */
const MAX_CONNECTIONS_PER_PEER = 4

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

/** Frames whose type starts with this are the session's own (peer exchange), not automerge-repo's. */
export const EXTENSION_TYPE_PREFIX = 'tonk/'

type LinkState = 'parked' | 'handshaking' | 'active' | 'retiring' | 'closed'

/** One QUIC connection to a remote endpoint. A peer has one active link, briefly more. */
class Link {
  state: LinkState = 'parked'
  remote: HelloMessage | undefined
  writer: StreamWriter | undefined
  reader: FrameReader | undefined
  retireTimer: NodeJS.Timeout | undefined
  /** Set once the handshake is done: what the remote sends from then on is charged to it. */
  limiter: PeerRateLimiter | undefined
  /** Discards streams the protocol does not use (stream-guard.ts). */
  streams: { afterFirstBi: () => void } | undefined
  readonly openedAt = Date.now()
  constructor(
    readonly conn: Connection,
    readonly endpointId: string,
    readonly direction: 'inbound' | 'outbound',
    /** Endpoint id of the side that dialed: the duplicate tie-break compares these. */
    readonly dialerId: string,
  ) {}
}

/** A remote the Repo knows about (announced with peer-candidate). */
class Peer {
  link: Link | undefined
  /** Messages sent while the peer is between two connections (a duplicate being swapped). */
  pending: Uint8Array[] = []
  pendingBytes = 0
  swapTimer: NodeJS.Timeout | undefined
  bytesIn = 0
  bytesOut = 0
  lastSeen: number | undefined
  readonly connectedAt = Date.now()
  constructor(
    readonly endpointId: string,
    readonly hello: HelloMessage,
  ) {}
}

interface DialState {
  endpointId: string
  addr: IrohEndpointAddr
  /** Dialed on a discovery source's say-so only: limited, and forgotten after `maxFailures`. */
  discovered: boolean
  /** Dial attempts since the last completed handshake (the back-off's `attempt` is reset more often). */
  failures: number
  attempt: number
  inFlight: boolean
  timer: NodeJS.Timeout | undefined
  nextAttemptAt: number | undefined
  lastError: string | undefined
}

const noop = () => {}
const DELIVER: MessageVerdict = { action: 'deliver', cost: 1 }
const encodeText = (s: string) => Array.from(new TextEncoder().encode(s.slice(0, 200)))

export class IrohNetworkAdapter extends NetworkAdapter {
  /** Typed events beyond the NetworkAdapter ones, for UIs and logs. */
  readonly events = new EventEmitter<IrohAdapterEvents>()
  readonly endpoint: IrohEndpoint
  readonly endpointId: string
  readonly maxFrameBytes: number

  private readonly logger: Logger
  private hello: HelloInfo
  private readonly allowPeer: AllowPeer | undefined
  private readonly peerIdTaken: ((peerId: string) => boolean) | undefined
  private readonly handshakeTimeoutMs: number
  private readonly dialTimeoutMs: number
  private readonly backoff: { initialMs: number; maxMs: number; jitter: number }
  private readonly retireTimeoutMs: number
  private readonly writerOptions: IrohNetworkAdapterOptions['writer']
  private readonly rateLimit: RateLimitOptions | false
  private readonly discoveredLimits: Required<DiscoveredDialLimits>
  /** Shared by every attempt at a discovered peer, so discovery cannot make us spray packets. */
  private readonly discoveredBudget: TokenBucket
  private readonly alpn: number[] = alpnBytes(TONK_SYNC_ALPN)
  private readonly alpnV1: number[] = alpnBytes(TONK_SYNC_ALPN_V1)
  private readonly handshakeKey: Uint8Array
  private readonly frameBudget: FrameBudget
  private readonly maxConnections: number
  private readonly maxHalfOpen: number
  /** Incoming connections between acceptNext() and the end of their handshake. */
  private halfOpen = 0

  private phase: 'idle' | 'online' | 'offline' = 'idle'
  private ready = false
  private resolveReady!: () => void
  private readonly readyPromise = new Promise<void>((r) => (this.resolveReady = r))
  private acceptLoopRunning = false
  private instanceId = ''
  private readonly links = new Set<Link>()
  private readonly peers = new Map<string, Peer>()
  private readonly peersByPeerId = new Map<PeerId, Peer>()
  private readonly targets = new Map<string, DialState>()
  /** Peers our user disconnected: refused (E_DISCONNECTED) until dial() asks for them again. */
  private readonly disconnectedByUser = new Set<string>()
  private gate: MessageGate | undefined

  constructor(options: IrohNetworkAdapterOptions) {
    super()
    this.endpoint = options.endpoint
    this.endpointId = endpointIdOf(options.endpoint)
    this.hello = options.hello
    if (!(options.handshakeKey instanceof Uint8Array) || options.handshakeKey.length !== 32) {
      throw new Error('IrohNetworkAdapter needs a 32-byte handshakeKey')
    }
    this.handshakeKey = options.handshakeKey
    this.logger = options.logger ?? noopLogger
    this.maxFrameBytes = clampFrameLimit(options.maxFrameBytes)
    if (options.maxFrameBytes !== undefined && this.maxFrameBytes !== options.maxFrameBytes) {
      this.logger.warn(`net: maxFrameBytes ${options.maxFrameBytes} is outside 1 KiB … 256 MiB; using ${this.maxFrameBytes}`)
    }
    this.allowPeer = options.allowPeer
    this.peerIdTaken = options.peerIdTaken
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    this.dialTimeoutMs = options.dialTimeoutMs ?? 10_000
    this.backoff = {
      initialMs: options.backoff?.initialMs ?? 250,
      maxMs: options.backoff?.maxMs ?? 30_000,
      jitter: options.backoff?.jitter ?? 0.5,
    }
    this.retireTimeoutMs = options.retireTimeoutMs ?? 5000
    this.writerOptions = options.writer
    this.rateLimit = options.rateLimit ?? {}
    if (this.rateLimit) new PeerRateLimiter(this.rateLimit) // bad options fail here, not at the first peer
    this.frameBudget = new FrameBudget(Math.max(options.frameBudgetBytes ?? DEFAULT_FRAME_BUDGET_BYTES, 2 * (this.maxFrameBytes + FRAME_HEADER_BYTES)))
    this.maxConnections = options.maxConnections ?? 256
    this.maxHalfOpen = options.maxHalfOpen ?? 64
    this.discoveredLimits = discoveredDialLimits(options.discoveredDials)
    this.discoveredBudget = new TokenBucket(this.discoveredLimits.dialsPerSecond, this.discoveredLimits.burst, Date.now())
  }

  // ---- NetworkAdapter ------------------------------------------------------------------------

  isReady(): boolean {
    return this.ready
  }

  whenReady(): Promise<void> {
    return this.readyPromise
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata ?? {}
    this.listen()
    this.goOnline()
    this.ready = true
    this.resolveReady()
  }

  send(message: Message): void {
    if (this.phase !== 'online') return
    const peer = this.peersByPeerId.get(message.targetId)
    if (!peer) {
      this.logger.debug(`net: no connection to ${message.targetId}; dropping a ${message.type} message`)
      return
    }
    let payload: Uint8Array
    try {
      payload = cbor.encode(message)
    } catch (err) {
      this.logger.error(`net: cannot encode a ${message.type} message: ${firstLine(err)}`)
      return
    }
    if (payload.length > this.maxFrameBytes) {
      // The peer would drop us for it; the Repo will retry with the next sync round.
      this.logger.error(
        `net: a ${message.type} message for ${message.documentId ?? 'no document'} is ${payload.length} bytes, over the ${this.maxFrameBytes}-byte frame limit; not sent`,
      )
      return
    }
    this.sendTo(peer, payload, message)
  }

  /** Closes every connection and stops dialing and accepting; `connect()` resumes. */
  disconnect(): void {
    this.goOffline()
    this.emit('close')
  }

  // ---- Control -------------------------------------------------------------------------------

  /**
   * Remembers a peer to keep connected to (redialed with back-off whenever the connection drops)
   * and dials it now unless offline. Returns its endpoint id. Throws EndpointError for a bad ticket,
   * DialLimitError (E_DIAL_LIMIT) past the limits. `discovered`: a discovery source found it, no person
   * asked: it is dialed within the discovered-dial limits and forgotten after `maxFailures` failed dials
   * in a row; a person's dial of the same peer lifts that.
   */
  dial(target: DialTarget, options: { discovered?: boolean } = {}): string {
    const addr = parseDialTarget(target)
    const endpointId = addr.id().toString()
    if (endpointId === this.endpointId) {
      throw new EndpointError('E_BAD_TICKET', 'that ticket points at this endpoint itself')
    }
    const discovered = options.discovered === true
    // A person's Disconnect holds until a person dials the peer again, never on discovery's say-so.
    if (discovered && this.disconnectedByUser.has(endpointId)) return endpointId
    if (!discovered) this.disconnectedByUser.delete(endpointId)
    const existing = this.targets.get(endpointId)
    if (existing) {
      existing.addr = addr
      existing.attempt = 0
      // A discovered peer re-offered with new addresses keeps its failure count: new addresses must
      // not buy a liar endless dials. A person's dial makes it a person's target.
      if (!discovered) {
        existing.discovered = false
        existing.failures = 0
      }
    } else {
      if (this.targets.size >= MAX_DIAL_TARGETS) throw new DialLimitError(`already dialing ${MAX_DIAL_TARGETS} peers`)
      if (discovered && this.unreachedDiscoveredTargets() >= this.discoveredLimits.maxTargets) {
        throw new DialLimitError(`already dialing ${this.discoveredLimits.maxTargets} discovered peers that did not answer yet`)
      }
      this.targets.set(endpointId, {
        endpointId,
        addr,
        discovered,
        failures: 0,
        attempt: 0,
        inFlight: false,
        timer: undefined,
        nextAttemptAt: undefined,
        lastError: undefined,
      })
    }
    const state = this.targets.get(endpointId)!
    if (state.timer) {
      clearTimeout(state.timer)
      state.timer = undefined
    }
    void this.attemptDial(state)
    return endpointId
  }

  /** Discovered targets we hold no connection to: the ones `maxTargets` counts. */
  private unreachedDiscoveredTargets(): number {
    let n = 0
    for (const t of this.targets.values()) if (t.discovered && !this.peers.get(t.endpointId)?.link) n++
    return n
  }

  /**
   * Stops dialing a peer that only discovery asked for (a source withdrew it: mDNS goodbye, the peer
   * that passed it on left). A person's target stays; connections stay. Returns whether it was dropped.
   */
  forgetDiscovered(endpointId: string, reason: string): boolean {
    const state = this.targets.get(endpointId)
    if (!state?.discovered) return false
    this.dropTarget(state, reason)
    return true
  }

  private dropTarget(state: DialState, reason: string): void {
    if (state.timer) clearTimeout(state.timer)
    state.timer = undefined
    this.targets.delete(state.endpointId)
    this.logger.debug(`net: no longer dialing ${shortId(state.endpointId)}: ${reason}`)
    this.events.emit('dial-dropped', { endpointId: state.endpointId, reason })
  }

  /** What discovery needs to know of a peer, without building a peers view. */
  connectionStatus(endpointId: string): 'connected' | 'dialing' | 'unknown' {
    const peer = this.peers.get(endpointId)
    if (peer?.link) return 'connected'
    if (peer || this.targets.has(endpointId) || this.hasLiveLink(endpointId)) return 'dialing'
    return 'unknown'
  }

  /**
   * Closes connections to this endpoint and stops redialing it. `hold` (a person's Disconnect) also
   * refuses its connections with E_DISCONNECTED until dial() names it again, so the row stays
   * disconnected instead of the peer redialing within a second.
   */
  disconnectPeer(endpointId: string, options: { hold?: boolean } = {}): void {
    if (options.hold) this.disconnectedByUser.add(endpointId)
    const state = this.targets.get(endpointId)
    if (state?.timer) clearTimeout(state.timer)
    this.targets.delete(endpointId)
    for (const link of [...this.links]) {
      if (link.endpointId === endpointId) {
        this.closeLink(link, CLOSE_CODE.removed, 'disconnected', { code: 'E_REMOVED', reason: `disconnected from peer ${shortId(endpointId)} by this session` })
      }
    }
  }

  /** Undoes disconnectPeer's hold without dialing: the peer's own redials are accepted again. */
  allowAgain(endpointId: string): void {
    this.disconnectedByUser.delete(endpointId)
  }

  /** Closes every connection, stops redialing and refuses incoming connections. */
  goOffline(): void {
    if (this.phase === 'online') this.logger.info('net: going offline')
    this.phase = 'offline'
    for (const state of this.targets.values()) {
      if (state.timer) clearTimeout(state.timer)
      state.timer = undefined
      state.nextAttemptAt = undefined
    }
    for (const link of [...this.links]) {
      this.closeLink(link, CLOSE_CODE.offline, 'offline', { code: 'E_OFFLINE', reason: 'this session went offline' })
    }
    this.events.emit('state-changed', { online: false })
  }

  /** Accepts connections again and redials remembered peers. Needs a prior `connect()`. */
  goOnline(): void {
    if (this.peerId === undefined) {
      this.logger.warn('net: goOnline() before connect(): nothing to announce yet')
      return
    }
    if (this.phase !== 'online') {
      this.instanceId = randomBytes(8).toString('hex')
      this.logger.info(`net: online as ${shortId(this.endpointId)}`)
    }
    this.phase = 'online'
    this.listen()
    for (const link of [...this.links]) if (link.state === 'parked') void this.startLink(link)
    for (const state of this.targets.values()) {
      state.attempt = 0
      void this.attemptDial(state)
    }
    this.events.emit('state-changed', { online: true })
  }

  get isOnline(): boolean {
    return this.phase === 'online'
  }

  /**
   * Consulted for every automerge-repo message a peer sends, synchronously and in order, before the
   * Repo sees it (undefined: every message goes to the Repo at the cost of one).
   */
  setMessageGate(gate: MessageGate | undefined): void {
    this.gate = gate
  }

  /** Everything a peers view shows: connected peers, connections in handshake, dialed peers waiting. */
  peerInfos(): PeerInfo[] {
    const rows = new Map<string, PeerInfo>()
    for (const peer of this.peers.values()) rows.set(peer.endpointId, this.describePeer(peer))
    for (const link of this.links) {
      if (rows.has(link.endpointId) || (link.state !== 'handshaking' && link.state !== 'parked')) continue
      rows.set(link.endpointId, {
        endpointId: link.endpointId,
        state: link.state === 'parked' ? 'standby' : 'handshaking',
        direction: link.direction,
        bytesIn: 0,
        bytesOut: 0,
        dialed: this.targets.has(link.endpointId),
        connections: this.connectionCount(link.endpointId),
      })
    }
    for (const t of this.targets.values()) {
      if (rows.has(t.endpointId)) continue
      rows.set(t.endpointId, {
        endpointId: t.endpointId,
        state: this.phase === 'offline' ? 'offline' : t.inFlight ? 'dialing' : 'backoff',
        direction: 'outbound',
        bytesIn: 0,
        bytesOut: 0,
        nextAttemptAt: t.nextAttemptAt,
        lastError: t.lastError,
        dialed: true,
        connections: 0,
      })
    }
    return [...rows.values()]
  }

  /**
   * Sends one of our own frames (type `tonk/…`) to a connected peer whose hello lists `feature`; peers
   * without it would take the frame for a malformed automerge message. Returns whether it was queued.
   */
  sendExtension(endpointId: string, feature: string, message: { type: string } & Record<string, unknown>): boolean {
    const peer = this.peers.get(endpointId)
    if (this.phase !== 'online' || !peer?.link || !peer.hello.features?.includes(feature)) return false
    if (!message.type.startsWith(EXTENSION_TYPE_PREFIX)) throw new Error(`extension frames have a type starting with ${EXTENSION_TYPE_PREFIX}`)
    this.sendTo(peer, cbor.encode(message))
    return true
  }

  /** The features later hellos list (bulk stops saying this peer is empty once it holds documents). */
  setFeatures(features: string[]): void {
    this.hello = { ...this.hello, features: [...features] }
  }

  /** Another build of the app is served from now on (hot reload): said in every later handshake. */
  setBuild(bundleId: string, strictBuild: boolean): void {
    const { strictBuild: _previous, ...rest } = this.hello
    this.hello = { ...rest, bundleId, ...(strictBuild && { strictBuild: true }) }
  }

  /**
   * Bytes queued for a connected peer and not yet written (undefined when it is not connected). Bulk
   * senders pace themselves by it: the writer refuses past its hard limit and that drops the peer.
   */
  queuedBytes(endpointId: string): number | undefined {
    const link = this.phase === 'online' ? this.peers.get(endpointId)?.link : undefined
    return link?.writer?.queuedBytes
  }

  peerInfo(endpointId: string): PeerInfo | undefined {
    return this.peerInfos().find((p) => p.endpointId === endpointId)
  }

  // ---- Dialing -------------------------------------------------------------------------------

  private hasLiveLink(endpointId: string): boolean {
    for (const link of this.links) {
      if (link.endpointId === endpointId && (link.state === 'parked' || link.state === 'handshaking' || link.state === 'active')) {
        return true
      }
    }
    return false
  }

  private async attemptDial(state: DialState): Promise<void> {
    if (this.phase === 'offline' || state.inFlight || this.targets.get(state.endpointId) !== state) return
    if (this.hasLiveLink(state.endpointId) || this.peers.get(state.endpointId)?.link) return
    if (state.discovered) {
      if (state.failures >= this.discoveredLimits.maxFailures) {
        this.dropTarget(state, `${state.failures} failed dials (${state.lastError ?? 'no answer'})`)
        return
      }
      const waitMs = this.discoveredBudget.takeOrWait(Date.now())
      if (waitMs > 0) {
        // Over the budget for discovered dials: try again when a token is there (jittered, so the
        // waiting targets do not all wake at once).
        if (state.timer) clearTimeout(state.timer)
        const delay = Math.round(waitMs * (1 + Math.random()))
        state.nextAttemptAt = Date.now() + delay
        state.timer = setTimeout(() => {
          state.timer = undefined
          void this.attemptDial(state)
        }, delay)
        state.timer.unref?.()
        return
      }
      state.failures++
    }
    state.inFlight = true
    state.nextAttemptAt = undefined
    let conn: Connection
    try {
      conn = await this.connectWithTimeout(state.addr)
    } catch (err) {
      state.inFlight = false
      state.lastError = firstLine(err)
      this.logger.debug(`net: dial ${shortId(state.endpointId)} failed: ${state.lastError}`)
      this.scheduleRedial(state)
      return
    }
    state.inFlight = false
    if (this.wentOffline() || this.targets.get(state.endpointId) !== state) {
      closeQuietly(conn, CLOSE_CODE.offline, 'offline')
      return
    }
    await this.runLink(conn, 'outbound')
  }

  /** Reads the phase afresh after an await (TypeScript keeps the narrowing from before it). */
  private wentOffline(): boolean {
    return this.phase === 'offline'
  }

  private connectWithTimeout(addr: IrohEndpointAddr): Promise<Connection> {
    return new Promise((resolve, reject) => {
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        reject(new Error(`no answer within ${this.dialTimeoutMs} ms`))
      }, this.dialTimeoutMs)
      this.endpoint.connect(addr, this.alpn).then(
        (conn) => {
          clearTimeout(timer)
          if (timedOut) closeQuietly(conn, CLOSE_CODE.normal, 'dial timed out')
          else resolve(conn)
        },
        (err) => {
          clearTimeout(timer)
          reject(err)
        },
      )
    })
  }

  private scheduleRedial(state: DialState, permanent = false): void {
    // Record a permanent refusal before any early return: it can arrive while the dial that caused it
    // is still in flight, and the redial scheduled when that dial settles must back off to the cap too.
    if (permanent) state.attempt = Math.max(state.attempt, 30)
    if (permanent && state.discovered) state.failures = Math.max(state.failures, this.discoveredLimits.maxFailures)
    if (this.phase === 'offline' || state.timer || state.inFlight || this.targets.get(state.endpointId) !== state) return
    if (this.hasLiveLink(state.endpointId) || this.peers.get(state.endpointId)?.link) return
    if (state.discovered && state.failures >= this.discoveredLimits.maxFailures) {
      this.dropTarget(state, `${state.failures} failed dials (${state.lastError ?? 'no answer'})`)
      return
    }
    const { initialMs, maxMs, jitter } = this.backoff
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(state.attempt, 30))
    const delay = Math.max(0, Math.round(base * (1 + jitter * (2 * Math.random() - 1))))
    state.attempt++
    state.nextAttemptAt = Date.now() + delay
    state.timer = setTimeout(() => {
      state.timer = undefined
      void this.attemptDial(state)
    }, delay)
    state.timer.unref?.()
  }

  private redialIfDialed(endpointId: string, permanent = false): void {
    const state = this.targets.get(endpointId)
    if (state) this.scheduleRedial(state, permanent)
  }

  // ---- Accepting -----------------------------------------------------------------------------

  /**
   * Starts accepting connections (connect() does too). Called earlier, connections are set up and
   * parked until connect(). Idempotent.
   */
  listen(): void {
    if (this.acceptLoopRunning) return
    this.acceptLoopRunning = true
    void this.acceptLoop()
  }

  private async acceptLoop(): Promise<void> {
    try {
      for (;;) {
        let incoming: Incoming | null
        try {
          incoming = await this.endpoint.acceptNext()
        } catch (err) {
          this.logger.debug(`net: accept loop ends: ${firstLine(err)}`)
          break
        }
        if (!incoming) break // endpoint closed
        if (this.phase === 'offline') {
          // ignore(), not refuse(): refusing answers with a packet, and offline sends nothing.
          incoming.ignore().catch(noop)
          continue
        }
        if (this.halfOpen >= this.maxHalfOpen || this.links.size >= this.maxConnections) {
          // Each one costs a TLS handshake and a slot until our handshake timeout: a flood waits its turn.
          this.logger.debug(`net: refusing an incoming connection (${this.halfOpen} half-open, ${this.links.size} held)`)
          incoming.refuse().catch(noop)
          continue
        }
        this.halfOpen++
        void this.acceptIncoming(incoming).finally(() => this.halfOpen--)
      }
    } finally {
      this.acceptLoopRunning = false
    }
  }

  private async acceptIncoming(incoming: Incoming): Promise<void> {
    let conn: Connection
    try {
      const accepting = await incoming.accept()
      conn = await accepting.connect()
    } catch (err) {
      this.logger.debug(`net: incoming connection failed: ${firstLine(err)}`)
      return
    }
    if (sameBytes(conn.alpn(), this.alpnV1)) {
      // Said to the old peer in its close reason, and to our user as a refusal they can act on.
      const endpointId = safeRemoteId(conn)
      const reason = `peer ${shortId(endpointId)} speaks ${TONK_SYNC_ALPN_V1}, an older Tonk P2P: protocol too old (this session speaks ${TONK_SYNC_ALPN}); update that peer`
      this.logger.warn(`net: ${reason}`)
      this.events.emit('peer-refused', { endpointId, code: 'E_PROTOCOL_TOO_OLD', reason, by: 'local', direction: 'inbound' })
      closeQuietly(conn, CLOSE_CODE.refused, 'E_PROTOCOL_TOO_OLD')
      return
    }
    if (!sameBytes(conn.alpn(), this.alpn)) {
      closeQuietly(conn, CLOSE_CODE.refused, 'unsupported protocol')
      return
    }
    if (this.phase === 'offline') {
      closeQuietly(conn, CLOSE_CODE.offline, 'offline')
      return
    }
    if (this.connectionCount(safeRemoteId(conn)) >= MAX_CONNECTIONS_PER_PEER) {
      closeQuietly(conn, CLOSE_CODE.refused, 'E_TOO_MANY_CONNECTIONS')
      return
    }
    await this.runLink(conn, 'inbound')
  }

  // ---- Connections ---------------------------------------------------------------------------

  private localHello(): HelloMessage {
    const meta = this.peerMetadata ?? {}
    const hello: HelloMessage = {
      type: 'hello',
      v: HANDSHAKE_VERSION,
      ...this.hello,
      peerId: this.peerId!,
      isEphemeral: meta.isEphemeral ?? false,
      instanceId: this.instanceId,
    }
    if (meta.storageId !== undefined) hello.storageId = meta.storageId
    return hello
  }

  private async runLink(conn: Connection, direction: 'inbound' | 'outbound'): Promise<void> {
    let endpointId: string
    try {
      endpointId = conn.remoteId().toString()
    } catch {
      closeQuietly(conn, CLOSE_CODE.protocolError, 'no remote id')
      return
    }
    const link = new Link(conn, endpointId, direction, direction === 'outbound' ? this.endpointId : endpointId)
    link.streams = guardStreams(conn, direction === 'outbound' ? 'dialer' : 'acceptor')
    this.links.add(link)
    conn.closed().then(
      () => this.onConnectionClosed(link),
      () => this.onConnectionClosed(link),
    )
    if (this.phase === 'online') await this.startLink(link)
    else this.logger.debug(`net: ${direction} connection with ${shortId(endpointId)} parked until connect()`)
  }

  private async startLink(link: Link): Promise<void> {
    if (link.state !== 'parked') return
    link.state = 'handshaking'
    const { endpointId } = link
    try {
      await this.handshake(link)
    } catch (err) {
      this.logger.error(`net: unexpected error on the connection with ${shortId(endpointId)}: ${firstLine(err)}`)
      this.closeLink(link, CLOSE_CODE.protocolError, 'internal error', { code: 'E_INTERNAL', reason: firstLine(err) })
    }
  }

  private async handshake(link: Link): Promise<void> {
    const { conn, endpointId } = link
    const them = `peer ${shortId(endpointId)}`
    let bi
    try {
      bi =
        link.direction === 'outbound'
          ? await conn.openBi()
          : await withTimeout(conn.acceptBi(), this.handshakeTimeoutMs, 'no stream opened')
    } catch (err) {
      if (link.state === 'closed') return
      const timedOut = /no stream opened/.test(String(err))
      if (timedOut) {
        this.emitRefused(link, { code: 'E_HANDSHAKE_TIMEOUT', reason: `${them} opened no stream within ${this.handshakeTimeoutMs} ms`, by: 'local' })
      }
      this.closeLink(link, CLOSE_CODE.protocolError, 'no stream', { code: 'E_CONNECTION_LOST', reason: `${them}: ${firstLine(err)}` })
      this.redialIfDialed(endpointId)
      return
    }
    link.streams?.afterFirstBi()
    const peer = () => this.peers.get(endpointId)
    link.writer = new StreamWriter(bi.send, {
      ...this.writerOptions,
      maxFrameBytes: this.maxFrameBytes,
      onWrite: (n) => {
        const p = peer()
        if (p && (p.link === link || link.state === 'retiring')) p.bytesOut += n
      },
    })
    link.reader = new FrameReader(bi.recv, new FrameDecoder({ maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES, budget: this.frameBudget }), {
      budget: this.frameBudget,
      onRead: (n) => {
        const p = peer()
        if (p && (p.link === link || link.state === 'retiring')) {
          p.bytesIn += n
          p.lastSeen = Date.now()
        }
      },
    })
    const result = await performHandshake({
      reader: link.reader,
      writer: link.writer,
      local: this.localHello(),
      localId: this.endpointId,
      remoteId: endpointId,
      role: link.direction === 'outbound' ? 'dialer' : 'acceptor',
      alpn: TONK_SYNC_ALPN,
      key: this.handshakeKey,
      allowPeer: this.allowPeer,
      disconnected: this.disconnectedByUser.has(endpointId),
      timeoutMs: this.handshakeTimeoutMs,
    })
    if (isClosed(link)) return // went offline or the connection died meanwhile
    if (!result.ok) {
      await this.refuseLink(link, result.refusal)
      return
    }
    link.remote = result.remote
    const claimant = this.peersByPeerId.get(result.remote.peerId as PeerId)
    if (claimant && claimant.endpointId !== endpointId) {
      // automerge peer ids are self-chosen: the first endpoint to announce one keeps it, or a second
      // could take over (and, leaving, cut off) every message the Repo sends to the first.
      await this.refuseLink(link, {
        code: 'E_PEER_ID_TAKEN',
        reason: `peer ${shortId(endpointId)} claims automerge peer id ${result.remote.peerId.slice(0, 40)}, which connected peer ${shortId(claimant.endpointId)} holds`,
        by: 'local',
      })
      return
    }
    if (!claimant && this.peerIdTaken?.(result.remote.peerId)) {
      await this.refuseLink(link, {
        code: 'E_PEER_ID_TAKEN',
        reason: `peer ${shortId(endpointId)} claims automerge peer id ${result.remote.peerId.slice(0, 40)}, which this session or another of its connections (the preview, the bridge) holds`,
        by: 'local',
      })
      return
    }
    link.reader.decoder.maxFrameBytes = this.maxFrameBytes
    if (this.rateLimit) link.limiter = new PeerRateLimiter(this.rateLimit, this.maxFrameBytes + FRAME_HEADER_BYTES)
    this.installLink(link)
    if (link.state !== 'closed') await this.readLoop(link)
  }

  private async refuseLink(link: Link, refusal: Refusal): Promise<void> {
    const { conn, endpointId } = link
    if (refusal.code === 'E_CONNECTION_LOST') {
      // The remote may have refused at the connection level: its close reason starts with the code.
      const closed = parseCloseReason(conn.closeReason())
      if (closed?.code.startsWith('E_') && closed.code !== 'E_OFFLINE') {
        refusal = { code: closed.code, reason: `peer ${shortId(endpointId)} refused this session (${closed.code})`, by: 'remote' }
      }
    }
    if (refusal.code !== 'E_CONNECTION_LOST') this.emitRefused(link, refusal)
    else this.logger.debug(`net: ${refusal.reason}`)
    const target = this.targets.get(endpointId)
    if (target) target.lastError = refusal.reason
    if (refusal.by === 'local') {
      // Let the refuse frame arrive before the connection goes: flush, finish, and wait (briefly)
      // for the remote to finish or close too.
      await link.writer?.close()
      await withTimeout(drain(link.reader!), 1000, 'drain').catch(noop)
    }
    this.closeLink(link, CLOSE_CODE.refused, refusal.code)
    this.redialIfDialed(endpointId, PERMANENT_REFUSALS.has(refusal.code))
  }

  private emitRefused(link: Link, refusal: Refusal): void {
    this.logger.warn(`net: ${refusal.reason}`)
    this.events.emit('peer-refused', {
      endpointId: link.endpointId,
      code: refusal.code,
      reason: refusal.reason,
      by: refusal.by,
      direction: link.direction,
    })
  }

  /** A handshake completed: announce the peer, or resolve a duplicate connection. */
  private installLink(link: Link): void {
    const hello = link.remote!
    const target = this.targets.get(link.endpointId)
    if (target) {
      target.attempt = 0
      target.failures = 0
      target.lastError = undefined
    }
    const peer = this.peers.get(link.endpointId)
    if (peer && peer.hello.instanceId !== hello.instanceId) {
      // The remote restarted; whatever we still hold from its previous run is stale.
      const stale = peer.link
      this.removePeer(peer, { code: 'E_REPLACED', reason: `peer ${shortId(link.endpointId)} restarted` })
      if (stale) this.closeLink(stale, CLOSE_CODE.duplicate, 'replaced by a newer connection')
    } else if (peer) {
      const current = peer.link
      if (!current) {
        // We were waiting for exactly this connection to replace a retired one.
        this.activate(peer, link)
        return
      }
      // Two connections between the same pair: both sides keep the one dialed by the lower id.
      // The same dialer twice means it gave up on the first one: keep the newer.
      const keepNew = link.dialerId === current.dialerId || link.dialerId < current.dialerId
      this.logger.debug(
        `net: duplicate connection with ${shortId(link.endpointId)}; keeping the one dialed by ${shortId(keepNew ? link.dialerId : current.dialerId)}`,
      )
      if (keepNew) {
        this.activate(peer, link)
        this.retire(current)
      } else {
        this.retire(link)
      }
      return
    }
    const fresh = new Peer(link.endpointId, hello)
    const other = this.peersByPeerId.get(hello.peerId as PeerId)
    if (other) {
      this.logger.warn(`net: peers ${shortId(other.endpointId)} and ${shortId(link.endpointId)} both claim automerge peer id ${hello.peerId}`)
    }
    this.peers.set(link.endpointId, fresh)
    this.peersByPeerId.set(hello.peerId as PeerId, fresh)
    this.activate(fresh, link)
    this.logger.info(`net: connected to ${hello.peerName || 'peer'} ${shortId(link.endpointId)} (${link.direction})`)
    const peerMetadata: PeerMetadata = { isEphemeral: hello.isEphemeral }
    if (hello.storageId !== undefined) peerMetadata.storageId = hello.storageId as StorageId
    this.emit('peer-candidate', { peerId: hello.peerId as PeerId, peerMetadata })
    this.events.emit('peer-connected', this.describePeer(fresh))
  }

  private activate(peer: Peer, link: Link): void {
    link.state = 'active'
    peer.link = link
    if (peer.swapTimer) clearTimeout(peer.swapTimer)
    peer.swapTimer = undefined
    const pending = peer.pending
    peer.pending = []
    peer.pendingBytes = 0
    for (const payload of pending) this.sendTo(peer, payload)
  }

  private retire(link: Link): void {
    if (link.state === 'closed' || link.state === 'retiring') return
    link.state = 'retiring'
    void link.writer?.close()
    link.retireTimer = setTimeout(() => this.closeLink(link, CLOSE_CODE.duplicate, 'duplicate connection'), this.retireTimeoutMs)
    link.retireTimer.unref?.()
  }

  private sendTo(peer: Peer, payload: Uint8Array, message?: Message): void {
    const link = peer.link
    if (!link) {
      if (peer.pendingBytes + payload.length > (this.writerOptions?.hardLimitBytes ?? 64 * 1024 * 1024)) {
        this.logger.warn(`net: too much queued for ${shortId(peer.endpointId)} while it reconnects; dropping a message`)
        return
      }
      peer.pending.push(payload)
      peer.pendingBytes += payload.length
      return
    }
    try {
      link.writer!.enqueue(payload)
    } catch (err) {
      const code = err instanceof StreamWriterError || err instanceof FrameError ? err.code : 'E_SEND_FAILED'
      const reason = `cannot send to peer ${shortId(peer.endpointId)}: ${firstLine(err)}`
      this.closeLink(link, CLOSE_CODE.protocolError, code, { code, reason })
      return
    }
    if (message && this.events.listenerCount('trace') > 0) {
      this.events.emit('trace', {
        direction: 'out',
        endpointId: peer.endpointId,
        peerId: message.targetId,
        type: message.type,
        documentId: message.documentId,
        bytes: payload.length + FRAME_HEADER_BYTES,
        at: Date.now(),
      })
    }
  }

  private async readLoop(link: Link): Promise<void> {
    const reader = link.reader!
    const them = `peer ${shortId(link.endpointId)}`
    for (;;) {
      let frame: Uint8Array | null
      try {
        frame = await reader.next()
      } catch (err) {
        if (link.state === 'closed') return
        if (err instanceof FrameError) {
          this.dropLink(link, err.code, `${them} sent a bad frame: ${err.message}`)
        } else {
          const closed = parseCloseReason(link.conn.closeReason())
          const why = closed ? `${them} closed the connection (${closed.text})` : `lost the connection to ${them}: ${firstLine(err)}`
          this.closeLink(link, CLOSE_CODE.normal, 'lost', { code: closed?.code === 'offline' ? 'E_OFFLINE' : 'E_CONNECTION_LOST', reason: why })
        }
        return
      }
      if (link.state === 'closed') return
      if (frame === null) {
        this.onRemoteFinished(link)
        return
      }
      const cost = this.onFrame(link, frame)
      if (isClosed(link)) return
      const charge = link.limiter?.charge(frame.length + FRAME_HEADER_BYTES, cost)
      if (charge?.exceeded) {
        this.dropLink(link, 'E_RATE_LIMITED', `${them} kept sending over its rate limit for ${Math.round(charge.throttledMs)} ms`)
        return
      }
      // Short debts are carried (a sleep costs ~1 ms); longer ones pause reading this stream.
      if (charge && charge.waitMs >= 10) {
        await sleep(charge.waitMs)
        if (isClosed(link)) return
      }
    }
  }

  /** Handles one frame; returns what it cost in ordinary messages (for the rate limiter). */
  private onFrame(link: Link, frame: Uint8Array): number {
    const them = `peer ${shortId(link.endpointId)}`
    let decoded: unknown
    try {
      decoded = cbor.decode(frame)
    } catch {
      this.dropLink(link, 'E_MESSAGE_MALFORMED', `${them} sent a frame that is not CBOR`)
      return 1
    }
    const type = (decoded as { type?: unknown } | null)?.type
    if (typeof type === 'string' && type.startsWith(EXTENSION_TYPE_PREFIX) && !Array.isArray(decoded)) {
      if (this.phase === 'online') {
        this.events.emit('extension-message', { endpointId: link.endpointId, message: decoded as Record<string, unknown> })
      }
      return 1
    }
    const problem = messageProblem(decoded)
    if (problem) {
      this.dropLink(link, 'E_MESSAGE_MALFORMED', `${them} sent a malformed message: ${problem}`)
      return 1
    }
    const message = decoded as Message
    if (message.senderId !== link.remote!.peerId && !isForwardedEphemeral(message, this.peerId)) {
      this.dropLink(link, 'E_MESSAGE_MALFORMED', `${them} sent a message as ${String(message.senderId).slice(0, 40)}, not as itself`)
      return 1
    }
    if (message.targetId !== this.peerId) {
      this.logger.debug(`net: ${them} sent a message for ${String(message.targetId).slice(0, 40)}, not us; ignored`)
      return 1
    }
    if (this.phase !== 'online') return 1
    if (this.events.listenerCount('trace') > 0) {
      this.events.emit('trace', {
        direction: 'in',
        endpointId: link.endpointId,
        peerId: message.senderId,
        type: message.type,
        documentId: message.documentId,
        bytes: frame.length + FRAME_HEADER_BYTES,
        at: Date.now(),
      })
    }
    let verdict = DELIVER
    try {
      if (this.gate) verdict = this.gate(message)
    } catch (err) {
      this.logger.warn(`net: message gate failed on a ${message.type} message from ${them}: ${firstLine(err)}`)
    }
    if (verdict.action === 'deliver') {
      this.emit('message', message)
    } else if (verdict.action === 'answer-unavailable') {
      this.send({ type: 'doc-unavailable', senderId: this.peerId!, targetId: message.senderId, documentId: message.documentId! })
    }
    return verdict.cost
  }

  /** The remote finished its half of the stream. */
  private onRemoteFinished(link: Link): void {
    if (link.state === 'retiring') {
      // Both halves are done once our writer has flushed.
      void link.writer!.close().then(() => this.closeLink(link, CLOSE_CODE.duplicate, 'duplicate connection'))
      return
    }
    const peer = this.peers.get(link.endpointId)
    if (peer?.link === link && this.hasHandshakingLink(link.endpointId)) {
      // The remote retired this connection in favour of one whose handshake we are still finishing:
      // hand over without telling the Repo the peer left.
      peer.link = undefined
      link.state = 'retiring'
      void link.writer!.close().then(() => this.closeLink(link, CLOSE_CODE.duplicate, 'duplicate connection'))
      peer.swapTimer = setTimeout(() => {
        if (!peer.link && this.peers.get(peer.endpointId) === peer) {
          this.removePeer(peer, { code: 'E_CONNECTION_LOST', reason: `peer ${shortId(peer.endpointId)} went away` })
          this.redialIfDialed(peer.endpointId)
        }
      }, this.handshakeTimeoutMs + 1000)
      peer.swapTimer.unref?.()
      return
    }
    this.closeLink(link, CLOSE_CODE.normal, 'finished', {
      code: 'E_CONNECTION_LOST',
      reason: `peer ${shortId(link.endpointId)} closed its stream`,
    })
  }

  private connectionCount(endpointId: string): number {
    let n = 0
    for (const l of this.links) if (l.endpointId === endpointId) n++
    return n
  }

  private hasHandshakingLink(endpointId: string): boolean {
    for (const l of this.links) if (l.endpointId === endpointId && l.state === 'handshaking') return true
    return false
  }

  private onConnectionClosed(link: Link): void {
    if (link.state === 'closed') return
    if (link.state === 'retiring') {
      this.closeLink(link, CLOSE_CODE.duplicate, 'duplicate connection')
      return
    }
    const closed = parseCloseReason(link.conn.closeReason())
    const them = `peer ${shortId(link.endpointId)}`
    this.closeLink(link, CLOSE_CODE.normal, 'closed', {
      code: closed?.text === 'offline' ? 'E_OFFLINE' : 'E_CONNECTION_LOST',
      reason: closed ? `${them} closed the connection (${closed.text})` : `lost the connection to ${them}`,
    })
  }

  /** A protocol violation: close this peer's connection, tell the logs why, leave everyone else alone. */
  private dropLink(link: Link, code: string, reason: string): void {
    this.logger.warn(`net: dropping peer ${shortId(link.endpointId)}: ${reason}`)
    this.closeLink(link, CLOSE_CODE.protocolError, code, { code, reason })
  }

  /**
   * Closes one connection now. If it was a peer's active connection the peer is gone (peer-disconnected),
   * and redialed if it is one we dial. Idempotent.
   */
  private closeLink(link: Link, closeCode: number, closeText: string, event?: { code: string; reason: string }): void {
    if (link.state === 'closed') return
    link.state = 'closed'
    this.links.delete(link)
    if (link.retireTimer) clearTimeout(link.retireTimer)
    link.writer?.abort('connection closed')
    link.reader?.close()
    closeQuietly(link.conn, closeCode, closeText)
    const peer = this.peers.get(link.endpointId)
    if (peer && peer.link === link) {
      peer.link = undefined
      this.removePeer(peer, event ?? { code: 'E_CONNECTION_LOST', reason: `connection to peer ${shortId(link.endpointId)} closed` })
    }
    this.redialIfDialed(link.endpointId)
  }

  private removePeer(peer: Peer, event: { code: string; reason: string }): void {
    if (this.peers.get(peer.endpointId) !== peer) return
    this.peers.delete(peer.endpointId)
    if (this.peersByPeerId.get(peer.hello.peerId as PeerId) === peer) this.peersByPeerId.delete(peer.hello.peerId as PeerId)
    if (peer.swapTimer) clearTimeout(peer.swapTimer)
    peer.pending = []
    this.logger.info(`net: disconnected from ${shortId(peer.endpointId)}: ${event.reason}`)
    this.emit('peer-disconnected', { peerId: peer.hello.peerId as PeerId })
    this.events.emit('peer-closed', { endpointId: peer.endpointId, peerId: peer.hello.peerId as PeerId, ...event })
  }

  private describePeer(peer: Peer): PeerInfo {
    const link = peer.link
    const info: PeerInfo = {
      endpointId: peer.endpointId,
      peerId: peer.hello.peerId as PeerId,
      name: peer.hello.peerName,
      state: link ? 'connected' : 'reconnecting',
      direction: link?.direction,
      bytesIn: peer.bytesIn,
      bytesOut: peer.bytesOut,
      connectedAt: peer.connectedAt,
      lastSeen: peer.lastSeen ?? peer.connectedAt,
      dialed: this.targets.has(peer.endpointId),
      build: peer.hello.bundleId,
      connections: this.connectionCount(peer.endpointId),
      features: peer.hello.features ?? [],
    }
    if (link) {
      try {
        const paths = link.conn.paths()
        const selected = paths.find((p) => p.isSelected) ?? paths[0]
        if (selected) {
          info.path = { kind: selected.isRelay ? 'relay' : 'direct', remoteAddr: selected.remoteAddr, rttMs: selected.rttMs }
        }
        info.rttMs = link.conn.rtt() ?? selected?.rttMs
      } catch {
        // The connection is closing; no path to show.
      }
    }
    return info
  }
}

/** Why a decoded frame is not an automerge-repo message, or undefined if it is one. */
export function messageProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a map'
  const m = value as Record<string, unknown>
  if (typeof m.type !== 'string' || m.type.length === 0) return 'no type'
  if (typeof m.senderId !== 'string' || m.senderId.length === 0) return 'no senderId'
  if (typeof m.targetId !== 'string' || m.targetId.length === 0) return 'no targetId'
  if (m.documentId !== undefined && typeof m.documentId !== 'string') return 'documentId is not a string'
  if (m.data !== undefined && !(m.data instanceof Uint8Array)) return 'data is not bytes'
  return undefined
}

/** iroh reports a remote application close as "closed by peer: <reason> (code N)". */
export function parseCloseReason(text: string | null): { code: string; text: string } | undefined {
  const m = text ? /closed by peer: (.*) \(code (\d+)\)$/s.exec(text) : null
  if (!m) return undefined
  return { code: m[1]!.split(':')[0]!.trim(), text: m[1]!.trim() }
}

/** Reads the state afresh: TypeScript's narrowing does not know awaits and callbacks change it. */
const isClosed = (link: Link) => link.state === 'closed'

function closeQuietly(conn: Connection, code: number, reason: string): void {
  try {
    conn.close(BigInt(code), encodeText(reason))
  } catch {
    // Already closed.
  }
}

function sameBytes(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

async function drain(reader: FrameReader): Promise<void> {
  try {
    while ((await reader.next()) !== null) {
      // discard
    }
  } catch {
    // A refused peer's stream state does not matter any more.
  }
}

function safeRemoteId(conn: Connection): string {
  try {
    return conn.remoteId().toString()
  } catch {
    return 'unknown'
  }
}

/**
 * automerge-repo forwards ephemeral messages (presence) to its other peers with the origin's senderId
 * unchanged: that is how a page's presence reaches peers two hops away. So an ephemeral message may
 * name a sender other than the link's peer; every other type must come from the peer itself. The
 * origin is a claim (presence is), bounded here; claims.ts keeps it off the ids of our direct peers.
 */
export function isForwardedEphemeral(message: Message, ourPeerId: string | undefined): boolean {
  return message.type === 'ephemeral' && typeof message.senderId === 'string' && message.senderId.length <= 128 && message.senderId !== ourPeerId
}
