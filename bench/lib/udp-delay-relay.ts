// A UDP relay that holds every datagram `delayMs` in each direction: puts two P2P peers "d ms apart"
// (QUIC over iroh is UDP) the way delay-relay.ts puts the WebSocket server d ms away, without netem.
// Each client source gets its own upstream socket, so the target sees one peer per client; datagrams of
// one direction keep their order (timers of one duration fire in the order they were set).
import { createSocket, type Socket } from 'node:dgram'

export interface UdpDelayRelay {
  port: number
  close(): void
}

export async function startUdpDelayRelay(bindHost: string, target: { host: string; port: number }, delayMs: number): Promise<UdpDelayRelay> {
  const front = createSocket('udp4')
  const upstreams = new Map<string, Socket>()
  front.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`
    let up = upstreams.get(key)
    if (!up) {
      const sock = createSocket('udp4')
      sock.on('message', (back) => setTimeout(() => front.send(back, from.port, from.address), delayMs))
      sock.on('error', () => {})
      sock.bind(0) // any address: the kernel sends from the one on the target's link
      upstreams.set(key, sock)
      up = sock
    }
    const out = up
    setTimeout(() => out.send(msg, target.port, target.host), delayMs)
  })
  front.on('error', () => {})
  await new Promise<void>((resolve) => front.bind(0, bindHost, resolve))
  return {
    port: front.address().port,
    close() {
      front.close()
      for (const s of upstreams.values()) s.close()
    },
  }
}
