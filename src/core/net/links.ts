// The QUIC connections to other endpoints ("links"): taking one in (the accept loop and its limits are
// in link-accept.ts, the handshake in link-handshake.ts), the duplicate tie-break, lossless retirement
// of the loser, the read loop, and closing. A link becomes a peer's active link once its handshake
// completes; the peer table (peer-table.ts) and the Repo-facing events stay with the adapter (LinkHost).
//
// Duplicate connections (both sides dial at once) are resolved like Hyperswarm does: both sides keep
// the connection dialed by the lower endpoint id. The loser is retired losslessly: each side stops
// sending on it, finishes its half, keeps reading until the other half ends, then closes it.
// Over ~400 lines: a link's life (handshake → active → retiring → closed) is one state machine whose
// steps share the link map and its events; link-accept.ts and link-handshake.ts already took the parts
// that stand alone.
import type { EventEmitter } from 'node:events'
import type { Logger } from '../../shared/log'
import { CLOSE_CODE, closeQuietly } from './quic'
import { FrameError, FRAME_HEADER_BYTES } from './framing'
import type { AllowPeer, HelloMessage } from './handshake'
import type { Connection, IrohEndpoint, IrohEndpointAddr } from './iroh'
import type { FrameReader } from './stream-reader'
import type { FrameBudget } from './frame-budget'
import { guardStreams } from './stream-guard'
import type { PeerRateLimiter, RateLimitOptions } from './rate-limit'
import { StreamWriterError, type StreamWriter, type StreamWriterOptions } from './stream-writer'
import type { Dialer } from './dialer'
import { parseCloseReason, traceRecord } from './messages'
import { Peer, type PeerTable } from './peer-table'
import type { IrohAdapterEvents } from './types'
import { handshakeLink } from './link-handshake'
import { Acceptor } from './link-accept'
import { faultNote, type LinkFaults } from './link-fault'
import { sleep } from '../util/async'
import { SliceClock } from '../util/slice-clock'
import { firstLine, shortId } from '../util/text'
import type { Message } from '@automerge/automerge-repo/slim'

type LinkState = 'parked' | 'handshaking' | 'active' | 'retiring' | 'closed'

/** One QUIC connection to a remote endpoint. A peer has one active link, briefly more. */
export class Link {
  state: LinkState = 'parked'
  remote: HelloMessage | undefined
  writer: StreamWriter | undefined
  reader: FrameReader | undefined
  retireTimer: NodeJS.Timeout | undefined
  /** Set once the handshake is done: what the remote sends from then on is charged to it. */
  limiter: PeerRateLimiter | undefined
  /** Discards streams the protocol does not use (stream-guard.ts). */
  streams: { afterFirstBi: () => void } | undefined
  /** The read loop reads no further frame until this settles (ExtensionChannel.holdReading). */
  readHold: Promise<void> | undefined
  readonly openedAt = Date.now()
  constructor(
    readonly conn: Connection,
    readonly endpointId: string,
    readonly direction: 'inbound' | 'outbound',
    /** Endpoint id of the side that dialed: the duplicate tie-break compares these. */
    readonly dialerId: string,
  ) {}
}

/** Reads the state afresh: TypeScript's narrowing does not know awaits and callbacks change it. */
export const isClosed = (link: Link) => link.state === 'closed'

/** How long the read loop hands frames up before it yields a turn of the event loop. */
const READ_SLICE_MS = 8

/** What links need to know and set up; fixed for the adapter's lifetime. */
export interface LinkConfig {
  endpoint: IrohEndpoint
  endpointId: string
  handshakeKey: Uint8Array
  allowPeer: AllowPeer | undefined
  peerIdTaken: ((peerId: string) => boolean) | undefined
  handshakeTimeoutMs: number
  retireTimeoutMs: number
  writerOptions: Pick<StreamWriterOptions, 'batchBytes' | 'highWaterMark' | 'hardLimitBytes'> | undefined
  rateLimit: RateLimitOptions | false
  frameBudget: FrameBudget
  maxFrameBytes: number
  maxConnections: number
  maxHalfOpen: number
}

/** The adapter, as links see it. */
export interface LinkHost {
  readonly logger: Logger
  readonly events: EventEmitter<IrohAdapterEvents>
  readonly peers: PeerTable
  readonly dialer: Dialer<IrohEndpointAddr, Connection>
  phase(): 'idle' | 'online' | 'offline'
  localHello(): HelloMessage
  /** One frame from an active link; returns what it cost in ordinary messages (rate limiter). */
  onFrame(link: Link, frame: Uint8Array, fault?: string): number
  /** Faults per link set by this session's user (link-fault.ts), applied on both directions here. */
  readonly faults: LinkFaults
  /** The trace's record of a frame a fault dropped (it never reaches onFrame). */
  traceDropped(link: Link, frame: Uint8Array): void
  /** Whether a peer that found us through discovery may link now (false when we have enough links). */
  acceptsDiscovered(): boolean
  /** A new peer completed its handshake: announce it. */
  peerAdded(peer: Peer): void
  /** A peer is gone (already out of the table): tell the Repo and listeners. */
  peerRemoved(peer: Peer, event: { code: string; reason: string }): void
}


export class Links {
  private readonly all = new Set<Link>()
  private readonly acceptor = new Acceptor(this)

  constructor(
    readonly config: LinkConfig,
    readonly host: LinkHost,
  ) {}

  get size(): number {
    return this.all.size
  }

  values(): Link[] {
    return [...this.all]
  }

  count(endpointId: string): number {
    let n = 0
    for (const l of this.all) if (l.endpointId === endpointId) n++
    return n
  }

  hasHandshaking(endpointId: string): boolean {
    for (const l of this.all) if (l.endpointId === endpointId && l.state === 'handshaking') return true
    return false
  }

  hasLive(endpointId: string): boolean {
    for (const link of this.all) {
      if (link.endpointId === endpointId && (link.state === 'parked' || link.state === 'handshaking' || link.state === 'active')) {
        return true
      }
    }
    return false
  }

  /** Starts the accept loop unless it runs (link-accept.ts). */
  listen(): void {
    this.acceptor.listen()
  }

  // ---- Setting up ----------------------------------------------------------------------------

  /** Takes a new connection in: its handshake runs now if online, else it is parked until then. */
  async run(conn: Connection, direction: 'inbound' | 'outbound'): Promise<void> {
    let endpointId: string
    try {
      endpointId = conn.remoteId().toString()
    } catch {
      closeQuietly(conn, CLOSE_CODE.protocolError, 'no remote id')
      return
    }
    const link = new Link(conn, endpointId, direction, direction === 'outbound' ? this.config.endpointId : endpointId)
    link.streams = guardStreams(conn, direction === 'outbound' ? 'dialer' : 'acceptor')
    this.all.add(link)
    conn.closed().then(
      () => this.onConnectionClosed(link),
      () => this.onConnectionClosed(link),
    )
    if (this.host.phase() === 'online') await this.start(link)
    else this.host.logger.debug(`net: ${direction} connection with ${shortId(endpointId)} parked until connect()`)
  }

  /** Runs a parked link's handshake, then its read loop. */
  async start(link: Link): Promise<void> {
    if (link.state !== 'parked') return
    link.state = 'handshaking'
    const { endpointId } = link
    try {
      await handshakeLink(this, link)
    } catch (err) {
      this.host.logger.error(`net: unexpected error on the connection with ${shortId(endpointId)}: ${firstLine(err)}`)
      this.close(link, CLOSE_CODE.protocolError, 'internal error', { code: 'E_INTERNAL', reason: firstLine(err) })
    }
  }

  /** A handshake completed: announce the peer, or resolve a duplicate connection. */
  install(link: Link): void {
    const { host } = this
    const hello = link.remote!
    host.dialer.reached(link.endpointId)
    const peer = host.peers.get(link.endpointId)
    if (peer && peer.hello.instanceId !== hello.instanceId) {
      // The remote restarted; whatever we still hold from its previous run is stale.
      const stale = peer.link
      this.removePeer(peer, { code: 'E_REPLACED', reason: `peer ${shortId(link.endpointId)} restarted` })
      if (stale) this.close(stale, CLOSE_CODE.duplicate, 'replaced by a newer connection')
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
      host.logger.debug(
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
    const other = host.peers.byPeerId(fresh.peerId)
    if (other) {
      host.logger.warn(`net: peers ${shortId(other.endpointId)} and ${shortId(link.endpointId)} both claim automerge peer id ${hello.peerId}`)
    }
    host.peers.add(fresh)
    this.activate(fresh, link)
    host.logger.info(`net: connected to ${hello.peerName || 'peer'} ${shortId(link.endpointId)} (${link.direction})`)
    host.peerAdded(fresh)
  }

  private activate(peer: Peer, link: Link): void {
    link.state = 'active'
    peer.link = link
    if (peer.swapTimer) clearTimeout(peer.swapTimer)
    peer.swapTimer = undefined
    const pending = peer.pending
    peer.pending = []
    peer.pendingBytes = 0
    for (const payload of pending) this.send(peer, payload)
  }

  private retire(link: Link): void {
    if (link.state === 'closed' || link.state === 'retiring') return
    link.state = 'retiring'
    void link.writer?.close()
    link.retireTimer = setTimeout(() => this.close(link, CLOSE_CODE.duplicate, 'duplicate connection'), this.config.retireTimeoutMs)
    link.retireTimer.unref?.()
  }

  // ---- Running -------------------------------------------------------------------------------

  /** Queues one frame's payload for a peer (held while it is between two links); `message` for the trace. */
  send(peer: Peer, payload: Uint8Array, message?: Message): void {
    const faulted = this.host.faults.get(peer.endpointId)
    if (!faulted) return this.sendNow(peer, payload, message)
    const verdict = faulted.out.apply(faulted.fault, payload.length, () => {
      if (this.host.peers.get(peer.endpointId) === peer) this.sendNow(peer, payload, message, true)
    })
    const note = faultNote(verdict)
    if (note && message && this.host.events.listenerCount('trace') > 0) {
      this.host.events.emit('trace', { ...traceRecord('out', peer.endpointId, message, payload.length), fault: note })
    }
  }

  /** `traced`: the trace already has this frame (a fault delayed it). */
  private sendNow(peer: Peer, payload: Uint8Array, message?: Message, traced = false): void {
    const link = peer.link
    if (!link) {
      if (peer.pendingBytes + payload.length > (this.config.writerOptions?.hardLimitBytes ?? 64 * 1024 * 1024)) {
        this.host.logger.warn(`net: too much queued for ${shortId(peer.endpointId)} while it reconnects; dropping a message`)
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
      this.close(link, CLOSE_CODE.protocolError, code, { code, reason })
      return
    }
    if (message && !traced && this.host.events.listenerCount('trace') > 0) {
      this.host.events.emit('trace', traceRecord('out', peer.endpointId, message, payload.length))
    }
  }

  async readLoop(link: Link): Promise<void> {
    const reader = link.reader!
    const them = `peer ${shortId(link.endpointId)}`
    // One read chunk holds up to ~1 MiB of frames, each resolved as a microtask: without a yield, a
    // burst of a few hundred sync messages (~1–2 ms each in the Repo) held the event loop for seconds.
    const slice = new SliceClock(READ_SLICE_MS)
    for (;;) {
      if (slice.due()) await slice.next()
      for (let hold = link.readHold; hold; hold = link.readHold) {
        await hold
        if (link.readHold === hold) link.readHold = undefined
      }
      if (isClosed(link)) return
      let frame: Uint8Array | null
      try {
        frame = await reader.next()
      } catch (err) {
        if (link.state === 'closed') return
        if (err instanceof FrameError) {
          this.drop(link, err.code, `${them} sent a bad frame: ${err.message}`)
        } else {
          const closed = parseCloseReason(link.conn.closeReason())
          const why = closed ? `${them} closed the connection (${closed.text})` : `lost the connection to ${them}: ${firstLine(err)}`
          this.close(link, CLOSE_CODE.normal, 'lost', { code: closed?.code === 'offline' ? 'E_OFFLINE' : 'E_CONNECTION_LOST', reason: why })
        }
        return
      }
      if (link.state === 'closed') return
      if (frame === null) {
        this.onRemoteFinished(link)
        return
      }
      const cost = this.deliver(link, frame)
      if (isClosed(link)) return
      const charge = link.limiter?.charge(frame.length + FRAME_HEADER_BYTES, cost)
      if (charge?.exceeded) {
        this.drop(link, 'E_RATE_LIMITED', `${them} kept sending over its rate limit for ${Math.round(charge.throttledMs)} ms`)
        return
      }
      // Short debts are carried (a sleep costs ~1 ms); longer ones pause reading this stream.
      if (charge && charge.waitMs >= 10) {
        await sleep(charge.waitMs)
        if (isClosed(link)) return
      }
    }
  }

  /** Hands a frame to the host, through the peer's fault if it has one; returns its cost. */
  private deliver(link: Link, frame: Uint8Array): number {
    const faulted = this.host.faults.get(link.endpointId)
    if (!faulted) return this.host.onFrame(link, frame)
    let cost = 1
    let now = true
    const verdict = faulted.in.apply(faulted.fault, frame.length, () => {
      if (isClosed(link)) return
      // Delayed frames were charged one message on arrival; what the gate says later is not re-charged.
      if (now) cost = this.host.onFrame(link, frame)
      else this.host.onFrame(link, frame, faultNote(verdict))
    })
    now = false
    if (verdict.action === 'drop' && this.host.events.listenerCount('trace') > 0) this.host.traceDropped(link, frame)
    return cost
  }

  /** The remote finished its half of the stream. */
  private onRemoteFinished(link: Link): void {
    if (link.state === 'retiring') {
      // Both halves are done once our writer has flushed.
      void link.writer!.close().then(() => this.close(link, CLOSE_CODE.duplicate, 'duplicate connection'))
      return
    }
    const peer = this.host.peers.get(link.endpointId)
    if (peer?.link === link && this.hasHandshaking(link.endpointId)) {
      // The remote retired this connection in favour of one whose handshake we are still finishing:
      // hand over without telling the Repo the peer left.
      peer.link = undefined
      link.state = 'retiring'
      void link.writer!.close().then(() => this.close(link, CLOSE_CODE.duplicate, 'duplicate connection'))
      peer.swapTimer = setTimeout(() => {
        if (!peer.link && this.host.peers.get(peer.endpointId) === peer) {
          this.removePeer(peer, { code: 'E_CONNECTION_LOST', reason: `peer ${shortId(peer.endpointId)} went away` })
          this.host.dialer.redial(peer.endpointId)
        }
      }, this.config.handshakeTimeoutMs + 1000)
      peer.swapTimer.unref?.()
      return
    }
    this.close(link, CLOSE_CODE.normal, 'finished', {
      code: 'E_CONNECTION_LOST',
      reason: `peer ${shortId(link.endpointId)} closed its stream`,
    })
  }

  // ---- Closing -------------------------------------------------------------------------------

  private onConnectionClosed(link: Link): void {
    if (link.state === 'closed') return
    if (link.state === 'retiring') {
      this.close(link, CLOSE_CODE.duplicate, 'duplicate connection')
      return
    }
    const closed = parseCloseReason(link.conn.closeReason())
    const them = `peer ${shortId(link.endpointId)}`
    const trimmed = closed?.text === 'trimmed'
    this.close(link, CLOSE_CODE.normal, 'closed', {
      code: closed?.text === 'offline' ? 'E_OFFLINE' : trimmed ? 'E_TRIMMED' : 'E_CONNECTION_LOST',
      reason: trimmed ? `${them} has enough links and closed ours (we found it through discovery)` : closed ? `${them} closed the connection (${closed.text})` : `lost the connection to ${them}`,
    })
    // Only a link we dialed on discovery's word is trimmed: discovery dials another peer instead.
    if (trimmed) this.host.dialer.forgetDiscovered(link.endpointId, 'it has enough links (trimmed)')
  }

  /** A protocol violation: close this peer's connection, tell the logs why, leave everyone else alone. */
  drop(link: Link, code: string, reason: string): void {
    this.host.logger.warn(`net: dropping peer ${shortId(link.endpointId)}: ${reason}`)
    this.close(link, CLOSE_CODE.protocolError, code, { code, reason })
  }

  /**
   * Closes one connection now. If it was a peer's active connection the peer is gone (peer-disconnected),
   * and redialed if it is one we dial. Idempotent.
   */
  close(link: Link, closeCode: number, closeText: string, event?: { code: string; reason: string }): void {
    if (link.state === 'closed') return
    link.state = 'closed'
    this.all.delete(link)
    if (link.retireTimer) clearTimeout(link.retireTimer)
    link.writer?.abort('connection closed')
    link.reader?.close()
    closeQuietly(link.conn, closeCode, closeText)
    const peer = this.host.peers.get(link.endpointId)
    if (peer && peer.link === link) {
      peer.link = undefined
      this.removePeer(peer, event ?? { code: 'E_CONNECTION_LOST', reason: `connection to peer ${shortId(link.endpointId)} closed` })
    }
    this.host.dialer.redial(link.endpointId)
  }

  removePeer(peer: Peer, event: { code: string; reason: string }): void {
    if (!this.host.peers.remove(peer)) return
    this.host.logger.info(`net: disconnected from ${shortId(peer.endpointId)}: ${event.reason}`)
    this.host.peerRemoved(peer, event)
  }
}
