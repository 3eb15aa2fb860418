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
// The adapter is a facade over the rooms of net/: dialer.ts (dial targets, jittered back-off),
// links.ts + link-accept.ts + link-handshake.ts (connections, duplicate tie-break, accept loop),
// peer-table.ts (peers and their rows), messages.ts (frame content, CBOR, trace), ephemeral-relay.ts
// (others' presence passed on only where it is not known yet). Our own protocols
// (peer exchange, bulk) see only `channel` (extension-channel.ts), discovery only DiscoveryNetwork.
// Over ~400 lines: the NetworkAdapter contract plus the control surface the session drives (dial,
// disconnect, online/offline, peer rows, the message gate); each method delegates to a room.
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { NetworkAdapter, type Message, type PeerId, type PeerMetadata, type StorageId } from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../../shared/log'
import { endpointIdOf, EndpointError, parseDialTarget, type DialTarget } from './endpoint'
import { clampFrameLimit, FRAME_HEADER_BYTES } from './framing'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, HANDSHAKE_VERSION, type HelloInfo, type HelloMessage } from './handshake'
import type { Connection, IrohEndpoint, IrohEndpointAddr } from './iroh'
import { DEFAULT_FRAME_BUDGET_BYTES, FrameBudget } from './frame-budget'
import { discoveredDialLimits } from '../discovery/discovered-dials'
import type { TrimCandidate } from '../discovery/trim'
import { PeerRateLimiter } from './rate-limit'
import { DEFAULT_BACKOFF, Dialer } from './dialer'
import { Links, type Link, type LinkHost } from './links'
import { CLOSE_CODE, closeQuietly, connectWithTimeout } from './quic'
import { describePeer, peerRows, PeerTable, type Peer } from './peer-table'
import { describeFault, LinkFaults, type LinkFault } from './link-fault'
import { encodeFrame, EXTENSION_TYPE_PREFIX, isForwardedEphemeral, readFrame, traceRecord } from './messages'
import { SliceClock } from '../util/slice-clock'
import { createExtensionChannel, type ExtensionChannel, type ExtensionFrame } from './extension-channel'
import type { IrohNetworkAdapterOptions } from './adapter-options'
import type { IrohAdapterEvents, MessageGate, MessageVerdict, PeerInfo } from './types'
import { firstLine, shortId } from '../util/text'
import { MAX_ORIGINS_PER_LINK, OriginBudget } from './origin-budget'
import { beatMessage, digestFrame, DIGEST_FEATURE, DIGEST_FRAME, EphemeralRelay, originOf, readDigest, type Beat } from './ephemeral-relay'

export { CLOSE_CODE } from './quic'
export { EXTENSION_TYPE_PREFIX, messageProblem, parseCloseReason } from './messages'
export type {
  IrohAdapterEvents,
  MessageGate,
  MessageVerdict,
  PeerClosedEvent,
  PeerConnectionState,
  PeerInfo,
  PeerPath,
  PeerRefusedEvent,
  TraceEvent,
} from './types'
export type { ExtensionChannel } from './extension-channel'
export type { FaultInfo, LinkFault } from './link-fault'
export type { IrohNetworkAdapterOptions } from './adapter-options'

const DELIVER: MessageVerdict = { action: 'deliver', cost: 1 }
/** Held Repo messages (holdRepoMessages) are released in slices of this many ms. */
const RELEASE_SLICE_MS = 8
/** How long another peer's presence waits before we pass it on (adapter-options.ts relayHoldMs). */
const DEFAULT_RELAY_HOLD_MS = 25
/** How often other peers' heartbeats go to a peer in one digest (adapter-options.ts presenceDigestMs). */
const DEFAULT_PRESENCE_DIGEST_MS = 2000

export class IrohNetworkAdapter extends NetworkAdapter {
  /** Typed events beyond the NetworkAdapter ones, for UIs and logs. */
  readonly events = new EventEmitter<IrohAdapterEvents>()
  readonly endpoint: IrohEndpoint
  readonly endpointId: string
  readonly maxFrameBytes: number
  /** What our own protocols (peer exchange, bulk) use of this adapter. */
  readonly channel: ExtensionChannel

  private readonly logger: Logger
  private hello: HelloInfo
  private readonly peers = new PeerTable()
  /** Per peer: the Repo's messages held while a protocol asked (holdRepoMessages), in order. */
  private readonly heldMessages = new Map<string, Message[]>()
  private readonly faults = new LinkFaults()
  /** Other peers' presence we pass on: not to peers that already sent it to us. */
  private readonly relay: EphemeralRelay
  /** How many other peers' presence each link may speak for (origin-budget.ts). */
  private readonly origins = new OriginBudget()
  private readonly links: Links
  private readonly dialer: Dialer<IrohEndpointAddr, Connection>

  private phase: 'idle' | 'online' | 'offline' = 'idle'
  private ready = false
  private resolveReady!: () => void
  private readonly readyPromise = new Promise<void>((r) => (this.resolveReady = r))
  private instanceId = ''
  private gate: MessageGate | undefined
  /** See limitDiscoveredLinks(). */
  private discoveredLinksAbove = Number.POSITIVE_INFINITY

  constructor(options: IrohNetworkAdapterOptions) {
    super()
    this.endpoint = options.endpoint
    this.endpointId = endpointIdOf(options.endpoint)
    this.hello = options.hello
    if (!(options.handshakeKey instanceof Uint8Array) || options.handshakeKey.length !== 32) {
      throw new Error('IrohNetworkAdapter needs a 32-byte handshakeKey')
    }
    this.logger = options.logger ?? noopLogger
    this.relay = new EphemeralRelay(
      { holdMs: options.relayHoldMs ?? DEFAULT_RELAY_HOLD_MS, digestMs: options.presenceDigestMs ?? DEFAULT_PRESENCE_DIGEST_MS, sendDigest: (targetId, beats) => this.sendDigest(targetId, beats) },
      () => this.peerId,
    )
    this.maxFrameBytes = clampFrameLimit(options.maxFrameBytes)
    if (options.maxFrameBytes !== undefined && this.maxFrameBytes !== options.maxFrameBytes) {
      this.logger.warn(`net: maxFrameBytes ${options.maxFrameBytes} is outside 1 KiB … 256 MiB; using ${this.maxFrameBytes}`)
    }
    const rateLimit = options.rateLimit ?? {}
    if (rateLimit) new PeerRateLimiter(rateLimit) // bad options fail here, not at the first peer
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
    this.dialer = new Dialer(
      {
        online: () => this.phase !== 'offline',
        linked: (id) => this.links.hasLive(id) || !!this.peers.get(id)?.link,
        connected: (id) => !!this.peers.get(id)?.link,
        connect: (addr) => connectWithTimeout(this.endpoint, addr, dialTimeoutMs),
        opened: (conn) => this.links.run(conn, 'outbound'),
        discard: (conn) => closeQuietly(conn, CLOSE_CODE.offline, 'offline'),
        dropped: (endpointId, reason) => this.events.emit('dial-dropped', { endpointId, reason }),
      },
      {
        backoff: {
          initialMs: options.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs,
          maxMs: options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs,
          jitter: options.backoff?.jitter ?? DEFAULT_BACKOFF.jitter,
        },
        discoveredLimits: discoveredDialLimits(options.discoveredDials),
        logger: this.logger,
        clock: options.clock,
      },
    )
    this.links = new Links(
      {
        endpoint: this.endpoint,
        endpointId: this.endpointId,
        handshakeKey: options.handshakeKey,
        allowPeer: options.allowPeer,
        peerIdTaken: options.peerIdTaken,
        handshakeTimeoutMs,
        retireTimeoutMs: options.retireTimeoutMs ?? 5000,
        writerOptions: options.writer,
        rateLimit,
        frameBudget: new FrameBudget(Math.max(options.frameBudgetBytes ?? DEFAULT_FRAME_BUDGET_BYTES, 2 * (this.maxFrameBytes + FRAME_HEADER_BYTES))),
        maxFrameBytes: this.maxFrameBytes,
        maxConnections: options.maxConnections ?? 256,
        maxHalfOpen: options.maxHalfOpen ?? 64,
      },
      this.linkHost(),
    )
    this.channel = createExtensionChannel({
      maxFrameBytes: this.maxFrameBytes,
      events: this.events,
      repoEvents: this,
      send: (endpointId, feature, frame) => this.sendExtension(endpointId, feature, frame),
      peers: () => this.peerInfos(),
      queuedBytes: (endpointId) => this.queuedBytes(endpointId),
      holdReading: (endpointId, until) => this.holdReading(endpointId, until),
      holdRepoMessages: (endpointId, until) => this.holdRepoMessages(endpointId, until),
    })
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
    if (message.type === 'ephemeral') this.relay.route(message, () => this.sendToPeer(message))
    else this.sendToPeer(message)
  }

  private sendToPeer(message: Message): void {
    if (this.phase !== 'online') return
    const peer = this.peers.byPeerId(message.targetId)
    if (!peer) {
      this.logger.debug(`net: no connection to ${message.targetId}; dropping a ${message.type} message`)
      return
    }
    const held = this.heldMessages.get(peer.endpointId)
    if (held) held.push(message)
    else this.sendNow(peer, message)
  }

  private sendNow(peer: Peer, message: Message): void {
    let payload: Uint8Array
    try {
      payload = encodeFrame(message)
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
    this.links.send(peer, payload, message)
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
    this.dialer.dial(endpointId, addr, options.discovered === true)
    return endpointId
  }

  /**
   * Stops dialing a peer that only discovery asked for (a source withdrew it: mDNS goodbye, the peer
   * that passed it on left). A person's target stays; connections stay. Returns whether it was dropped.
   */
  forgetDiscovered(endpointId: string, reason: string): boolean {
    return this.dialer.forgetDiscovered(endpointId, reason)
  }

  /**
   * Connected peers that dialed us on their discovery's word (their hello said so), with when they
   * connected: the links `trim()` may close when we have more than we want.
   */
  trimCandidates(): TrimCandidate[] {
    const out: TrimCandidate[] = []
    for (const peer of this.peers.values()) {
      if (peer.link?.direction === 'inbound' && peer.hello.discovered === true) out.push({ endpointId: peer.endpointId, connectedAt: peer.connectedAt })
    }
    return out
  }

  /**
   * From this many connected peers on, a peer that dialed us on its discovery's word is turned away
   * after the handshake (`E_TRIMMED`), as trim() would close it later (DiscoveryLimits.trimAbove).
   */
  limitDiscoveredLinks(above: number): void {
    this.discoveredLinksAbove = above
  }

  /** Closes a link trimCandidates() offered; its dialer finds another peer instead of redialing us. */
  trim(endpointId: string): void {
    const peer = this.peers.get(endpointId)
    const link = peer?.link
    if (!link || link.direction !== 'inbound' || peer!.hello.discovered !== true) return
    this.links.close(link, CLOSE_CODE.trimmed, 'trimmed', { code: 'E_TRIMMED', reason: `closed the link peer ${shortId(endpointId)} found through discovery: enough links` })
  }

  /** A discovered peer is no longer dialed (it failed too often, or discovery withdrew it). */
  onDialDropped(listener: (endpointId: string) => void): () => void {
    const on = (e: { endpointId: string }) => listener(e.endpointId)
    this.events.on('dial-dropped', on)
    return () => this.events.off('dial-dropped', on)
  }

  /** What discovery needs to know of a peer, without building a peers view. */
  connectionStatus(endpointId: string): 'connected' | 'dialing' | 'unknown' {
    const peer = this.peers.get(endpointId)
    if (peer?.link) return 'connected'
    if (peer || this.dialer.has(endpointId) || this.links.hasLive(endpointId)) return 'dialing'
    return 'unknown'
  }

  /**
   * Closes connections to this endpoint and stops redialing it. `hold` (a person's Disconnect) also
   * refuses its connections with E_DISCONNECTED until dial() names it again, so the row stays
   * disconnected instead of the peer redialing within a second.
   */
  disconnectPeer(endpointId: string, options: { hold?: boolean } = {}): void {
    this.dialer.stop(endpointId, options.hold === true)
    for (const link of this.links.values()) {
      if (link.endpointId === endpointId) {
        this.links.close(link, CLOSE_CODE.removed, 'disconnected', { code: 'E_REMOVED', reason: `disconnected from peer ${shortId(endpointId)} by this session` })
      }
    }
  }

  /** Undoes disconnectPeer's hold without dialing: the peer's own redials are accepted again. */
  allowAgain(endpointId: string): void {
    this.dialer.release(endpointId)
  }

  /** Closes every connection, stops redialing and refuses incoming connections. */
  goOffline(): void {
    if (this.phase === 'online') this.logger.info('net: going offline')
    this.phase = 'offline'
    this.relay.clear()
    this.origins.clear()
    this.dialer.pauseAll()
    for (const link of this.links.values()) {
      this.links.close(link, CLOSE_CODE.offline, 'offline', { code: 'E_OFFLINE', reason: 'this session went offline' })
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
    for (const link of this.links.values()) if (link.state === 'parked') void this.links.start(link)
    this.dialer.resumeAll()
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

  /**
   * Puts a fault on one peer's link, both directions (undefined clears it); see link-fault.ts. Per
   * session, never persisted. Clearing a drop or loss reconnects the peer so that sync starts afresh
   * on both sides: the frames lost meanwhile would otherwise stay missing.
   * Throws LinkFaultError (E_LINK_FAULT) on a bad fault.
   */
  setLinkFault(endpointId: string, fault: LinkFault | undefined): void {
    const previous = this.faults.set(endpointId, fault)
    this.logger.info(`net: link ${shortId(endpointId)}: ${fault ? describeFault(fault) : 'faults cleared'}`)
    const lost = previous && previous.kind !== 'delay'
    const stillLosing = fault && fault.kind !== 'delay'
    if (!lost || stillLosing || this.phase !== 'online') return
    // Automerge's sync state assumes nothing is lost (the sender remembers what it sent), so both sides
    // must start that peer's sync afresh: a new connection does that on both. Whichever side dialed
    // redials at once (the dialer keeps the target), and the peers view shows one short reconnect.
    for (const link of this.links.values()) {
      if (link.endpointId === endpointId) {
        this.links.close(link, CLOSE_CODE.normal, 'resync', { code: 'E_RESYNC', reason: `fault cleared on the link to ${shortId(endpointId)}: reconnecting to resync` })
      }
    }
  }

  /** Everything a peers view shows: connected peers, connections in handshake, dialed peers waiting. */
  peerInfos(): PeerInfo[] {
    return this.withFaults(peerRows({
      peers: this.peers.values(),
      links: this.links.values(),
      targets: this.dialer.all(),
      dialed: (id) => this.dialer.has(id),
      connections: (id) => this.links.count(id),
      offline: this.phase === 'offline',
    }))
  }

  private withFaults(rows: PeerInfo[]): PeerInfo[] {
    for (const row of rows) {
      const fault = this.faults.info(row.endpointId)
      if (fault) row.fault = fault
    }
    return rows
  }

  /**
   * Sends one of our own frames (type `tonk/…`) to a connected peer whose hello lists `feature`; peers
   * without it would take the frame for a malformed automerge message. Returns whether it was queued.
   * Protocols use `channel.send`.
   */
  private sendExtension(endpointId: string, feature: string, message: ExtensionFrame): boolean {
    const peer = this.peers.get(endpointId)
    if (this.phase !== 'online' || !peer?.link || !peer.hello.features?.includes(feature)) return false
    if (!message.type.startsWith(EXTENSION_TYPE_PREFIX)) throw new Error(`extension frames have a type starting with ${EXTENSION_TYPE_PREFIX}`)
    this.links.send(peer, encodeFrame(message))
    return true
  }

  /** Other peers' heartbeats in one frame (ephemeral-relay.ts); false if the peer does not take digests. */
  private sendDigest(targetId: string, beats: Beat[]): boolean {
    const peer = this.peers.byPeerId(targetId as PeerId)
    if (!peer || !this.sendExtension(peer.endpointId, DIGEST_FEATURE, digestFrame(beats))) return false
    if (this.events.listenerCount('trace') > 0) for (const b of beats) this.events.emit('trace', traceRecord('out', peer.endpointId, beatMessage(b, targetId), 0))
    return true
  }

  /**
   * A peer's digest of other peers' heartbeats: each beat is checked as the forwarded heartbeat it
   * stands for and goes the way of one (receive), unless a peer already sent us that count. Costs the
   * rate limiter one message per entry, malformed and skipped ones too: each costs us a check.
   */
  private onDigest(link: Link, frame: Record<string, unknown>, fault?: string): number {
    const digest = readDigest(frame)
    if (!digest) {
      this.links.drop(link, 'E_MESSAGE_MALFORMED', `peer ${shortId(link.endpointId)} sent a malformed presence digest`)
      return 1
    }
    let cost = digest.entries
    for (const beat of digest.beats) {
      const message = beatMessage(beat, this.peerId ?? '')
      // Old news (a copy from another peer came first): only remembered, as the Repo would drop it.
      if (this.relay.heardCount(message) >= beat.count) this.relay.heardFrom(link.remote!.peerId, message)
      else cost += this.receive(link, message, 0, fault) - 1
    }
    return Math.max(1, cost)
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

  /** The Repo's messages to the peer wait until `until` settles, then go in order (see ExtensionChannel). */
  holdRepoMessages(endpointId: string, until: Promise<unknown>): void {
    if (this.heldMessages.has(endpointId)) return // the first hold's messages go when it ends
    const held: Message[] = []
    this.heldMessages.set(endpointId, held)
    // Sent in slices (thousands may wait), and in order: what comes meanwhile joins the end.
    const release = async () => {
      const slice = new SliceClock(RELEASE_SLICE_MS)
      for (let i = 0; i < held.length; i++) {
        if (slice.due()) await slice.next()
        const peer = this.phase === 'online' ? this.peers.byPeerId(held[i]!.targetId) : undefined
        if (peer) this.sendNow(peer, held[i]!)
      }
      if (this.heldMessages.get(endpointId) === held) this.heldMessages.delete(endpointId)
    }
    void until.then(release, release)
  }

  /** The peer's active link reads no further frame until `until` settles (see ExtensionChannel). */
  holdReading(endpointId: string, until: Promise<unknown>): void {
    const link = this.peers.get(endpointId)?.link
    if (!link) return
    const noop = () => {}
    link.readHold = Promise.all([link.readHold, until]).then(noop, noop)
  }

  peerInfo(endpointId: string): PeerInfo | undefined {
    return this.peerInfos().find((p) => p.endpointId === endpointId)
  }

  // ---- Wiring --------------------------------------------------------------------------------

  /** Starts accepting connections (connect() does too); before connect() they are parked. Idempotent. */
  listen(): void {
    this.links.listen()
  }

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

  private linkHost(): LinkHost {
    return {
      logger: this.logger,
      events: this.events,
      peers: this.peers,
      dialer: this.dialer,
      phase: () => this.phase,
      localHello: () => this.localHello(),
      acceptsDiscovered: () => this.peers.size < this.discoveredLinksAbove,
      onFrame: (link, frame, fault) => this.onFrame(link, frame, fault),
      faults: this.faults,
      traceDropped: (link, frame) => {
        const read = readFrame(frame)
        if (read.kind === 'message') this.events.emit('trace', { ...traceRecord('in', link.endpointId, read.message, frame.length), fault: 'dropped' })
      },
      peerAdded: (peer) => {
        const { hello } = peer
        const peerMetadata: PeerMetadata = { isEphemeral: hello.isEphemeral }
        if (hello.storageId !== undefined) peerMetadata.storageId = hello.storageId as StorageId
        this.emit('peer-candidate', { peerId: peer.peerId, peerMetadata })
        this.events.emit('peer-connected', this.describe(peer))
      },
      peerRemoved: (peer, event) => {
        this.faults.linkClosed(peer.endpointId)
        this.relay.peerLeft(peer.peerId)
        this.origins.linkEnded(peer.peerId)
        this.emit('peer-disconnected', { peerId: peer.peerId })
        this.events.emit('peer-closed', { endpointId: peer.endpointId, peerId: peer.peerId, ...event })
      },
    }
  }

  private describe(peer: Peer): PeerInfo {
    return this.withFaults([describePeer(peer, this.dialer.has(peer.endpointId), this.links.count(peer.endpointId))])[0]!
  }

  /** Handles one frame of an active link; returns what it cost in ordinary messages (for the rate limiter). */
  private onFrame(link: Link, frame: Uint8Array, fault?: string): number {
    const them = `peer ${shortId(link.endpointId)}`
    const read = readFrame(frame)
    if (read.kind === 'not-cbor') {
      this.links.drop(link, 'E_MESSAGE_MALFORMED', `${them} sent a frame that is not CBOR`)
      return 1
    }
    if (read.kind === 'extension') {
      if (read.message.type === DIGEST_FRAME) return this.phase === 'online' ? this.onDigest(link, read.message, fault) : 1
      if (this.phase === 'online') this.events.emit('extension-message', { endpointId: link.endpointId, message: read.message })
      return 1
    }
    if (read.kind === 'malformed') {
      this.links.drop(link, 'E_MESSAGE_MALFORMED', `${them} sent a malformed message: ${read.problem}`)
      return 1
    }
    return this.receive(link, read.message, frame.length, fault)
  }

  /**
   * Whether the link may speak for a forwarded message's origin (OriginBudget); said once per link. A
   * message without a well-formed origin (originOf: no or an overlong sessionId) is refused: its key
   * would cost the budget, and automerge-repo's per-origin counts, whatever length the peer chose.
   */
  private admitOrigin(link: Link, message: Message): boolean {
    const origin = originOf(message)
    if (origin === undefined) return false
    const verdict = this.origins.admit(link.remote!.peerId, origin)
    if (verdict === 'first-refusal') {
      this.logger.warn(`net: peer ${shortId(link.endpointId)} passes on the presence of more than ${MAX_ORIGINS_PER_LINK} participants; further ones from it are ignored`)
    }
    return verdict === 'admitted'
  }

  /** One automerge-repo message from a link (a frame's, or a digest's beat): checked, then to the Repo. */
  private receive(link: Link, message: Message, frameBytes: number, fault?: string): number {
    const them = `peer ${shortId(link.endpointId)}`
    if (message.senderId !== link.remote!.peerId && !isForwardedEphemeral(message, this.peerId, (id) => this.peers.byPeerId(id as PeerId) !== undefined)) {
      if (message.type === 'ephemeral') {
        // Presence naming us or a direct peer: a forwarded copy in a mesh, or a spoof. Ignored, link kept.
        this.logger.debug(`net: ${them} forwarded presence as ${String(message.senderId).slice(0, 40)}, which speaks for itself here; ignored`)
        return 1
      }
      this.links.drop(link, 'E_MESSAGE_MALFORMED', `${them} sent a message as ${String(message.senderId).slice(0, 40)}, not as itself`)
      return 1
    }
    if (message.targetId !== this.peerId) {
      this.logger.debug(`net: ${them} sent a message for ${String(message.targetId).slice(0, 40)}, not us; ignored`)
      return 1
    }
    if (this.phase !== 'online') return 1
    if (message.senderId !== link.remote!.peerId && !this.admitOrigin(link, message)) return 1
    this.relay.heardFrom(link.remote!.peerId, message)
    if (this.events.listenerCount('trace') > 0) {
      const record = traceRecord('in', link.endpointId, message, frameBytes)
      this.events.emit('trace', fault ? { ...record, fault } : record)
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
}
