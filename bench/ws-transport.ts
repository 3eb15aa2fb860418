// The WebSocket counterpart of bench/transport.ts: one `ws` connection on 127.0.0.1 between two
// processes, the sender here, the receiver a child that times from its first message to the last.
// One WebSocket message per frame, as automerge-repo's WebSocket adapter sends one per sync message.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { WebSocket, WebSocketServer } from 'ws'

if (process.argv[2] === '--ws-receiver') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  const counts: number[] = []
  let waiting: ((n: number) => void) | undefined
  const nextCount = () => (counts.length ? Promise.resolve(counts.shift()!) : new Promise<number>((r) => (waiting = r)))
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (waiting) {
      const w = waiting
      waiting = undefined
      w(Number(line))
    } else counts.push(Number(line))
  })
  console.log(String((wss.address() as { port: number }).port))
  wss.on('connection', async (ws) => {
    let expected = await nextCount()
    let n = 0
    let t0 = 0
    ws.on('message', async () => {
      if (n === 0) t0 = performance.now()
      if (++n === expected) {
        console.log(String((performance.now() - t0) / 1000))
        n = 0
        expected = await nextCount()
      }
    })
  })
} else if (process.argv[1] === import.meta.filename) {
  console.log(await measureWsTransport(false))
  process.exit(0)
}

export async function measureWsTransport(quick: boolean): Promise<{ mbPerS: number; smallPerS: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--ws-receiver'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const nextLine = async () => String((await lines.next()).value)
  const port = Number(await nextLine())
  const ws = new WebSocket(`ws://127.0.0.1:${port}`)
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)))
  const run = async (frameBytes: number, count: number) => {
    child.stdin!.write(`${count}\n`)
    const payload = new Uint8Array(frameBytes).fill(7)
    for (let i = 0; i < count; i++) {
      ws.send(payload)
      // Respect backpressure the way a sender must: wait while the socket buffers over 8 MiB.
      while (ws.bufferedAmount > 8 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1))
    }
    const seconds = Number(await nextLine())
    return { frames: count - 1, bytes: (count - 1) * frameBytes, seconds }
  }
  await run(64 * 1024, 200) // warm-up
  const big = await run(1024 * 1024, quick ? 24 : 160)
  const small = await run(200, quick ? 50_000 : 300_000)
  ws.close()
  child.kill()
  return { mbPerS: big.bytes / 1e6 / big.seconds, smallPerS: small.frames / small.seconds }
}
