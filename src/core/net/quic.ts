// QUIC-level helpers every part of the adapter shares: our application close codes, closing without
// throwing, and one dial bounded by our own timeout.
import { alpnBytes, TONK_SYNC_ALPN } from './endpoint'
import type { Connection, IrohEndpoint, IrohEndpointAddr } from './iroh'

/** QUIC application close codes this adapter uses (the reason text says more). */
export const CLOSE_CODE = {
  normal: 0,
  refused: 1,
  protocolError: 2,
  offline: 3,
  duplicate: 4,
  removed: 5,
  /** The acceptor has more links than it wants; the dialer found it through discovery and does not redial. */
  trimmed: 6,
} as const

export const ALPN = alpnBytes(TONK_SYNC_ALPN)
const encodeText = (s: string) => Array.from(new TextEncoder().encode(s.slice(0, 200)))

export function closeQuietly(conn: Connection, code: number, reason: string): void {
  try {
    conn.close(BigInt(code), encodeText(reason))
  } catch {
    // Already closed.
  }
}

/** One dial, bounded by our own timeout (iroh's is 30 s); a connection that comes too late is closed. */
export function connectWithTimeout(endpoint: IrohEndpoint, addr: IrohEndpointAddr, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      reject(new Error(`no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    endpoint.connect(addr, ALPN).then(
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
