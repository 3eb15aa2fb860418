// A TCP relay that holds every chunk for `delayMs` in each direction: puts the WebSocket sync server
// "somewhere else" (a one-way delay to a cloud server) without netem, which this kernel lacks.
// Chunks in one direction keep their order: timers of one duration fire in the order they were set.
import { connect, createServer, type Socket } from 'node:net'

export interface DelayRelay {
  port: number
  close(): Promise<void>
}

export async function startDelayRelay(targetPort: number, delayMs: number): Promise<DelayRelay> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      s.setNoDelay(true)
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        setTimeout(() => to.writable && to.write(chunk), delayMs)
      })
    forward(client, upstream)
    forward(upstream, client)
    // A side that ends or fails takes the other with it (after the data still in flight).
    const end = () => setTimeout(() => (client.destroy(), upstream.destroy()), delayMs)
    for (const s of [client, upstream]) {
      s.on('end', end)
      s.on('error', end)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
