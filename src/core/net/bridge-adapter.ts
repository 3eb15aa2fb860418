// The bridge to a Tonk / automerge-repo WebSocket sync server: upstream's client adapter added to the
// same Repo as the iroh adapter, so documents flow between P2P peers and the server's clients.
// Upstream imports automerge-repo through `@automerge/automerge-repo/slim` (checked in 2.5.6's dist),
// so bundling it adds no second Automerge and no second WASM init; a unit test checks the CLI bundle.
// Three sharp edges of upstream's adapter in Node, smoothed here:
// - its error handler rethrows every socket error but ECONNREFUSED (an unreachable host would crash
//   the process from an event listener): we log instead and let its retry timer redial;
// - send() throws while the socket is (re)connecting: we drop the message (the Repo resyncs on join);
// - disconnect() before connect() asserts: we skip it; a reconnect timer left running after disconnect()
//   would reopen the socket: connect() is a no-op once stopped.
// Going offline pauses the bridge (socket closed, no retries); going online reconnects it.
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import type { Message, PeerId } from '@automerge/automerge-repo/slim'
import type { Logger } from '../../shared/log'
import { firstLine } from '../util/text'
import type { PeerInfo } from './types'

/** WebSocket.OPEN (the same in `ws` and browsers). */
const OPEN = 1

export class BridgeAdapter extends WebSocketClientAdapter {
  private serverPeerId: PeerId | undefined
  private connectedAt: number | undefined
  private lastError: string | undefined

  constructor(
    url: string,
    private readonly logger: Logger,
    retryMs = 2000,
  ) {
    if (!/^wss?:\/\//.test(url)) throw Object.assign(new Error(`bridge "${url.slice(0, 80)}" is not a ws:// or wss:// URL`), { code: 'E_BAD_BRIDGE' })
    super(url, retryMs)
    this.onError = (event: unknown) => {
      const err = (event as { error?: Error }).error
      this.lastError = err ? firstLine(err) : 'connection failed'
      this.logger.debug(`bridge: ${url}: ${this.lastError}; retrying`)
    }
    this.on('peer-candidate', ({ peerId }) => {
      this.serverPeerId = peerId
      this.connectedAt = Date.now()
      this.lastError = undefined
      this.logger.info(`bridge: syncing with ${url} (server ${peerId})`)
    })
    this.on('peer-disconnected', () => {
      if (this.connectedAt) this.logger.info(`bridge: lost ${url}; retrying every ${retryMs} ms`)
      this.connectedAt = undefined
    })
  }

  private stopped = false

  override connect(peerId: PeerId, peerMetadata?: Parameters<WebSocketClientAdapter['connect']>[1]): void {
    // Upstream's reconnect timer may fire after disconnect(): never reopen a stopped or paused bridge.
    if (this.stopped || this.paused) return
    // A retry timer from before a pause may fire after resume(): never abandon a socket that is open.
    if (this.socket?.readyState === OPEN) return
    super.connect(peerId, peerMetadata)
  }

  private paused = false

  /** Offline: closes the socket and stops retrying until resume(). */
  pause(): void {
    if (this.paused || this.stopped) return
    this.paused = true
    this.closeSocket()
    this.logger.info(`bridge: offline; not syncing with ${this.url}`)
  }

  resume(): void {
    if (!this.paused || this.stopped) return
    this.paused = false
    // peerId is set once the Repo has connected the adapter; before that the Repo's connect() will.
    if (this.peerId) this.connect(this.peerId, this.peerMetadata)
  }

  override send(message: Message): void {
    try {
      super.send(message as never)
    } catch (err) {
      this.logger.debug(`bridge: not connected, dropping a ${message.type} message: ${firstLine(err)}`)
    }
  }

  override disconnect(): void {
    this.stopped = true
    this.closeSocket()
  }

  private closeSocket(): void {
    if (!this.peerId || !this.socket) return
    try {
      super.disconnect()
    } catch (err) {
      this.logger.debug(`bridge: disconnect: ${firstLine(err)}`)
    }
  }

  /** A row for the peers view: the sync server as one peer. */
  peerInfo(): PeerInfo {
    const connected = this.connectedAt !== undefined
    return {
      endpointId: this.url,
      peerId: connected ? this.serverPeerId : undefined,
      name: 'sync server',
      state: connected ? 'connected' : this.paused ? 'offline' : 'dialing',
      direction: 'outbound',
      bytesIn: 0,
      bytesOut: 0,
      connectedAt: this.connectedAt,
      lastError: this.lastError,
      dialed: true,
      connections: connected ? 1 : 0,
    }
  }
}
