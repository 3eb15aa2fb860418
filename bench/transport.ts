// Raw throughput of the net layer over one iroh stream on loopback: framing + write queue + reader.
// First with sender and receiver in this one process (one JS thread does both number[] conversions),
// then with the receiver in a child process, as between two real peers.
// Standalone: node scripts/isolated.mjs npx tsx bench/transport.ts
// bench/run.ts imports measureTransport() for the transport rows of the results table.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { PeerId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../src/core/util/automerge'
import { alpnBytes, closeEndpoint, createEndpoint, endpointTicket, parseDialTarget, TONK_SYNC_ALPN } from '../src/core/net/endpoint'
import { FrameDecoder } from '../src/core/net/framing'
import type { IrohEndpoint } from '../src/core/net/iroh'
import { IrohNetworkAdapter } from '../src/core/net/iroh-adapter'
import { FrameReader } from '../src/core/net/stream-reader'
import { StreamWriter } from '../src/core/net/stream-writer'
import { assertIsolated } from '../test/helpers/ensure-isolated'

const alpn = alpnBytes(TONK_SYNC_ALPN)

async function streamPair(a: IrohEndpoint, b: IrohEndpoint) {
  const accepted = (async () => {
    const incoming = await b.acceptNext()
    const conn = await (await incoming!.accept()).connect()
    return { conn, bi: await conn.acceptBi() }
  })()
  const conn = await a.connect(b.addr(), alpn)
  const bi = await conn.openBi()
  await bi.send.writeAll([0]) // the stream exists for the peer only once it carries data
  const remote = await accepted
  await remote.bi.recv.read(1)
  return { send: bi.send, recv: remote.bi.recv, close: () => (conn.close(0n, []), remote.conn.close(0n, [])) }
}

export interface Row {
  case: string
  frames: number
  bytes: number
  seconds: number
}

async function run(
  a: IrohEndpoint,
  b: IrohEndpoint,
  label: string,
  frameBytes: number,
  count: number,
  batchBytes: number,
): Promise<Row> {
  const { send, recv, close } = await streamPair(a, b)
  const writer = new StreamWriter(send, { batchBytes, highWaterMark: 8 * 1024 * 1024, maxFrameBytes: 16 * 1024 * 1024 })
  const reader = new FrameReader(recv, new FrameDecoder())
  const payload = new Uint8Array(frameBytes).map((_, i) => i & 0xff)
  const t0 = performance.now()
  const receiving = (async () => {
    let n = 0
    while (n < count) {
      const f = await reader.next()
      if (!f) throw new Error('stream ended early')
      n++
    }
  })()
  for (let i = 0; i < count; i++) await writer.send(payload)
  await receiving
  const seconds = (performance.now() - t0) / 1000
  await writer.close()
  close()
  return { case: label, frames: count, bytes: count * (frameBytes + 4), seconds }
}

async function adapterMessages(a: IrohEndpoint, b: IrohEndpoint, count: number): Promise<Row> {
  await initAutomerge()
  const hello = { bundleId: 'bench', namespace: 'bench', protocolVersion: '1.0.0', minCompatibleVersion: '1.0.0', peerName: 'bench' }
  const handshakeKey = new Uint8Array(32)
  const x = new IrohNetworkAdapter({ endpoint: a, hello, handshakeKey })
  const y = new IrohNetworkAdapter({ endpoint: b, hello, handshakeKey })
  // Both sides: y drops what it sends before its own side of the handshake is done.
  const up = Promise.all([new Promise((r) => x.once('peer-candidate', r)), new Promise((r) => y.once('peer-candidate', r))])
  x.connect('x' as PeerId)
  y.connect('y' as PeerId)
  y.dial(a.addr())
  await up
  let got = 0
  let done!: () => void
  const all = new Promise<void>((r) => (done = r))
  x.on('message', () => {
    if (++got === count) done()
  })
  const data = new Uint8Array(120).fill(7) // ~200 bytes once CBOR-encoded with the envelope
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    y.send({ type: 'ephemeral', senderId: 'y' as PeerId, targetId: 'x' as PeerId, data, documentId: '4NMNnkMhL8jXrdJ9jamS58PAVdXu' as never })
    if (i % 2000 === 1999) await new Promise((r) => setImmediate(r)) // let the writer drain, as a Repo would
  }
  await all
  const seconds = (performance.now() - t0) / 1000
  x.disconnect()
  y.disconnect()
  return { case: 'adapter.send, ~200-byte CBOR messages', frames: count, bytes: 0, seconds }
}

/** Child mode: accept one stream per line of stdin `<frames>`, read that many frames, print seconds. */
if (process.argv[2] === '--receiver') {
  const ep = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  console.log(endpointTicket(ep))
  const incoming = await ep.acceptNext()
  const conn = await (await incoming!.accept()).connect()
  for await (const line of createInterface({ input: process.stdin })) {
    const count = Number(line)
    const bi = await conn.acceptBi()
    const reader = new FrameReader(bi.recv, new FrameDecoder())
    let t0 = 0
    for (let n = 0; n < count; n++) {
      if (!(await reader.next())) throw new Error('stream ended early')
      if (n === 0) t0 = performance.now()
    }
    console.log(String((performance.now() - t0) / 1000))
  }
  // Keeps the endpoint reachable until here: once collected, its connection dies mid-run.
  await closeEndpoint(ep)
  process.exit(0)
}

export async function twoProcesses(cases: Array<[string, number, number, number]>): Promise<Row[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--receiver'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const nextLine = async () => String((await lines.next()).value)
  const ep = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  const conn = await ep.connect(parseDialTarget(await nextLine()), alpn)
  const out: Row[] = []
  for (const [label, frameBytes, count, batchBytes] of cases) {
    child.stdin!.write(`${count}\n`)
    const bi = await conn.openBi()
    const writer = new StreamWriter(bi.send, { batchBytes, highWaterMark: 8 * 1024 * 1024 })
    const payload = new Uint8Array(frameBytes).fill(7)
    // The receiver times from its first frame; the first frame's bytes are not counted.
    for (let i = 0; i < count; i++) await writer.send(payload)
    const seconds = Number(await nextLine())
    await writer.close()
    out.push({ case: `${label} (2 processes)`, frames: count - 1, bytes: (count - 1) * (frameBytes + 4), seconds })
  }
  child.kill()
  await closeEndpoint(ep)
  return out
}

/** The rows bench/run.ts reports: one stream between two processes, big frames and 200-byte frames. */
export async function measureTransport(quick: boolean): Promise<{ mbPerS: number; smallPerS: number; rows: Row[] }> {
  const rows = (
    await twoProcesses([
      ['warm-up', 64 * 1024, 200, 64 * 1024],
      ['1 MiB frames', 1024 * 1024, quick ? 24 : 160, 64 * 1024],
      ['200 B frames, batched', 200, quick ? 50_000 : 300_000, 64 * 1024],
    ])
  ).filter((r) => !r.case.startsWith('warm-up'))
  return { mbPerS: rows[0]!.bytes / 1e6 / rows[0]!.seconds, smallPerS: rows[1]!.frames / rows[1]!.seconds, rows }
}

/** In one process, through the adapter: CBOR-encoded automerge-repo messages of ~200 bytes. */
export async function measureAdapterMessages(count: number): Promise<number> {
  const a = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  const b = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  try {
    const row = await adapterMessages(a, b, count)
    return row.frames / row.seconds
  } finally {
    await closeEndpoint(a)
    await closeEndpoint(b)
  }
}

async function main(): Promise<void> {
  assertIsolated()
  const a = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  const b = await createEndpoint({ bindAddr: '127.0.0.1:0' })
  const MiB = 1024 * 1024
  const rows: Row[] = []
  await run(a, b, 'warm-up', 64 * 1024, 200, 64 * 1024)
  rows.push(await run(a, b, '1 MiB frames', MiB, 128, 64 * 1024))
  rows.push(await run(a, b, '64 KiB frames', 64 * 1024, 2048, 64 * 1024))
  rows.push(await run(a, b, '200 B frames, batched (64 KiB writes)', 200, 200_000, 64 * 1024))
  rows.push(await run(a, b, '200 B frames, one write each', 200, 20_000, 1))
  rows.push(await adapterMessages(a, b, 20_000)) // within the per-peer message budget (rate-limit.ts); more is throttled by design
  rows.push(
    ...(await twoProcesses([
      ['warm-up', 64 * 1024, 200, 64 * 1024],
      ['1 MiB frames', MiB, 128, 64 * 1024],
      ['200 B frames, batched', 200, 200_000, 64 * 1024],
      ['200 B frames, one write each', 200, 20_000, 1],
    ])).filter((r) => !r.case.startsWith('warm-up')),
  )

  console.log('\nnet transport, one stream, loopback\n')
  console.log('case'.padEnd(50), 'frames'.padStart(8), 'MB/s'.padStart(8), 'frames/s'.padStart(10))
  for (const r of rows) {
    const mbps = r.bytes ? (r.bytes / 1e6 / r.seconds).toFixed(1) : '-'
    console.log(r.case.padEnd(50), String(r.frames).padStart(8), mbps.padStart(8), Math.round(r.frames / r.seconds).toString().padStart(10))
  }
  await closeEndpoint(a)
  await closeEndpoint(b)
  process.exit(0)
}

if (process.argv[1] === import.meta.filename && process.argv[2] !== '--receiver') await main()
