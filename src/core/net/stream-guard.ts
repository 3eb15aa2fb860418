// A sync connection carries exactly one bi-directional stream, opened by the dialer. QUIC lets the
// other side open more (the binding's transport parameters grant 100 of each kind up front, and that
// credit cannot be taken back), and every unaccepted stream buffers up to its receive window: 200
// streams stuffed with 1 MiB each cost 200 MiB. So on every connection we lower the stream limits
// for the future (no new credit beyond the one stream) and accept-and-stop whatever else is opened,
// which discards its buffered bytes at once.
import type { Connection } from './iroh'

/** Stop code for a stream the protocol does not use. */
const STREAM_REFUSED = 1n
const noop = () => {}

/**
 * Lowers the stream limits and starts discarding unexpected streams: every uni-stream, and every
 * bi-stream beyond the protocol's one (`keepFirstBi`: the acceptor's handshake takes the first itself,
 * so the bi guard starts once it has). Runs until the connection closes.
 */
export function guardStreams(conn: Connection, role: 'dialer' | 'acceptor'): { afterFirstBi: () => void } {
  try {
    conn.setMaxConcurrentUniStreams(0n)
    conn.setMaxConcurrentBiStreams(role === 'acceptor' ? 1n : 0n)
  } catch {
    // the connection is already gone
  }
  void discard(() => conn.acceptUni(), (s) => s.stop(STREAM_REFUSED))
  const guardBi = () =>
    void discard(
      () => conn.acceptBi(),
      async (bi) => {
        await Promise.all([bi.recv.stop(STREAM_REFUSED).catch(noop), bi.send.reset(STREAM_REFUSED).catch(noop)])
      },
    )
  if (role === 'dialer') guardBi()
  return { afterFirstBi: role === 'acceptor' ? guardBi : noop }
}

async function discard<S>(accept: () => Promise<S>, stop: (stream: S) => Promise<unknown>): Promise<void> {
  for (;;) {
    let stream: S
    try {
      stream = await accept()
    } catch {
      return // closed
    }
    void stop(stream).catch(noop)
  }
}
