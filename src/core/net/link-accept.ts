// Accepting connections: the accept loop and what it refuses before any handshake (offline: ignored
// without a packet; too many half-open or held connections; an old or unknown ALPN; too many
// connections from one endpoint). What passes becomes a link (links.ts).
import { alpnBytes, TONK_SYNC_ALPN, TONK_SYNC_ALPN_V1 } from './endpoint'
import type { Connection, Incoming } from './iroh'
import type { Links } from './links'
import { ALPN, CLOSE_CODE, closeQuietly } from './quic'
import { firstLine, shortId } from '../util/text'

/** Connections one endpoint may hold with us at once: a duplicate pair, a retiring one, a spare. */
const MAX_CONNECTIONS_PER_PEER = 4
const ALPN_V1 = alpnBytes(TONK_SYNC_ALPN_V1)
const noop = () => {}

export class Acceptor {
  /** Incoming connections between acceptNext() and the end of their handshake. */
  private halfOpen = 0
  private acceptLoopRunning = false

  constructor(private readonly links: Links) {}

  /** Starts the accept loop unless it runs. */
  listen(): void {
    if (this.acceptLoopRunning) return
    this.acceptLoopRunning = true
    void this.acceptLoop()
  }

  private async acceptLoop(): Promise<void> {
    const { logger } = this.links.host
    try {
      for (;;) {
        let incoming: Incoming | null
        try {
          incoming = await this.links.config.endpoint.acceptNext()
        } catch (err) {
          logger.debug(`net: accept loop ends: ${firstLine(err)}`)
          break
        }
        if (!incoming) break // endpoint closed
        if (this.links.host.phase() === 'offline') {
          // ignore(), not refuse(): refusing answers with a packet, and offline sends nothing.
          incoming.ignore().catch(noop)
          continue
        }
        if (this.halfOpen >= this.links.config.maxHalfOpen || this.links.size >= this.links.config.maxConnections) {
          // Each one costs a TLS handshake and a slot until our handshake timeout: a flood waits its turn.
          logger.debug(`net: refusing an incoming connection (${this.halfOpen} half-open, ${this.links.size} held)`)
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
      this.links.host.logger.debug(`net: incoming connection failed: ${firstLine(err)}`)
      return
    }
    if (sameBytes(conn.alpn(), ALPN_V1)) {
      // Said to the old peer in its close reason, and to our user as a refusal they can act on.
      const endpointId = safeRemoteId(conn)
      const reason = `peer ${shortId(endpointId)} speaks ${TONK_SYNC_ALPN_V1}, an older Tonk P2P: protocol too old (this session speaks ${TONK_SYNC_ALPN}); update that peer`
      this.links.host.logger.warn(`net: ${reason}`)
      this.links.host.events.emit('peer-refused', { endpointId, code: 'E_PROTOCOL_TOO_OLD', reason, by: 'local', direction: 'inbound' })
      closeQuietly(conn, CLOSE_CODE.refused, 'E_PROTOCOL_TOO_OLD')
      return
    }
    if (!sameBytes(conn.alpn(), ALPN)) {
      closeQuietly(conn, CLOSE_CODE.refused, 'unsupported protocol')
      return
    }
    if (this.links.host.phase() === 'offline') {
      closeQuietly(conn, CLOSE_CODE.offline, 'offline')
      return
    }
    if (this.links.count(safeRemoteId(conn)) >= MAX_CONNECTIONS_PER_PEER) {
      closeQuietly(conn, CLOSE_CODE.refused, 'E_TOO_MANY_CONNECTIONS')
      return
    }
    await this.links.run(conn, 'inbound')
  }
}

function sameBytes(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function safeRemoteId(conn: Connection): string {
  try {
    return conn.remoteId().toString()
  } catch {
    return 'unknown'
  }
}
