// Round trip of one 200-byte frame between two processes, iroh (our framing on one stream) vs `ws`, after
// idle gaps of 0, 20 and 120 ms: the transport's part of a sync hop (bench/results/NOTES.md).
// node scripts/isolated.mjs npx tsx bench/echo.ts   (env: N = rounds per gap, CHUNK = read size in bytes)
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { WebSocket, WebSocketServer } from 'ws'
import { alpnBytes, closeEndpoint, createEndpoint, endpointTicket, parseDialTarget, TONK_SYNC_ALPN } from '../src/core/net/endpoint'
import { FrameDecoder } from '../src/core/net/framing'
import { FrameReader } from '../src/core/net/stream-reader'
import { StreamWriter } from '../src/core/net/stream-writer'
import { assertIsolated } from '../test/helpers/ensure-isolated'
import { median, percentile } from './lib/stats'

assertIsolated()
const alpn = alpnBytes(TONK_SYNC_ALPN)
const readChunkBytes = Number(process.env.CHUNK ?? 1024 * 1024)
const rounds = Number(process.env.N ?? 100)
const gaps = [0, 20, 120]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const summary = (samples: number[]) => `median ${median(samples).toFixed(2)} ms, p90 ${percentile(samples, 90).toFixed(2)} ms`

/** Echo children: print how to reach them, then send every frame/message straight back. */
if (process.argv[2] === '--echo-iroh') {
  const ep = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  console.log(endpointTicket(ep))
  const conn = await (await (await ep.acceptNext())!.accept()).connect()
  const bi = await conn.acceptBi()
  const reader = new FrameReader(bi.recv, new FrameDecoder(), { readChunkBytes })
  const writer = new StreamWriter(bi.send)
  for (let f = await reader.next(); f; f = await reader.next()) writer.enqueue(f)
  await closeEndpoint(ep)
  process.exit(0)
}
if (process.argv[2] === '--echo-ws') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  wss.on('connection', (s) => s.on('message', (d) => s.send(d)))
  console.log((wss.address() as { port: number }).port)
  await new Promise(() => {})
}

async function echoChild(mode: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, mode], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return { child, address: String((await lines.next()).value) }
}

async function measure(label: string, roundTrip: () => Promise<void>): Promise<void> {
  for (const gap of gaps) {
    const samples: number[] = []
    for (let i = 0; i < rounds; i++) {
      const t = performance.now()
      await roundTrip()
      samples.push(performance.now() - t)
      if (gap) await sleep(gap)
    }
    console.log(`${label.padEnd(5)} idle gap ${String(gap).padStart(3)} ms: round trip ${summary(samples)}`)
  }
}

const payload = new Uint8Array(200).fill(3)
{
  const { child, address } = await echoChild('--echo-iroh')
  const ep = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  const bi = await (await ep.connect(parseDialTarget(address), alpn)).openBi()
  const writer = new StreamWriter(bi.send)
  const reader = new FrameReader(bi.recv, new FrameDecoder(), { readChunkBytes })
  await measure('iroh', async () => {
    writer.enqueue(payload)
    await reader.next()
  })
  child.kill()
  await closeEndpoint(ep)
}
{
  const { child, address } = await echoChild('--echo-ws')
  const socket = new WebSocket(`ws://127.0.0.1:${address}`)
  await new Promise((r) => socket.once('open', r))
  await measure('ws', async () => {
    socket.send(payload)
    await new Promise((r) => socket.once('message', r))
  })
  socket.close()
  child.kill()
}
process.exit(0)
