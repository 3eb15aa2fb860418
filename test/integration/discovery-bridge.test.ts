// The bridge to a sync server: a real automerge-repo WebSocket sync server (its own process, loopback)
// and `serve --bridge ws://…` peers. Two bridged peers with no P2P link sync through the server; a
// P2P-only peer connected to one of them reaches the other through the bridge; the server shows up as a
// peer with source 'bridge'.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { watchDoc } from '../helpers/discovery-mesh'
import { PeerProcess } from '../helpers/peers'

describe('discovery: bridge to an automerge-repo WebSocket sync server', function () {
  this.timeout(60000)
  let dir: string
  let bundle: string
  let server: ChildProcess | undefined
  let url = ''
  const peers: PeerProcess[] = []

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-disc-bridge-'))
    bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    server = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/discovery-sync-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
    const port = await new Promise<number>((resolve, reject) => {
      server!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        const m = /listening (\d+)/.exec(d)
        if (m) resolve(Number(m[1]))
      })
      server!.once('exit', (code) => reject(new Error(`sync server exited (${code})`)))
    })
    url = `ws://127.0.0.1:${port}`
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    server?.kill('SIGTERM')
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('two bridged peers with no P2P link sync through the server; a P2P-only peer reaches through the bridge', async () => {
    const off = ['--no-mdns', '--no-exchange']
    const a = await PeerProcess.start({ bundle, dataDir: join(dir, 'a'), name: 'a', args: [...off, '--bridge', url] })
    peers.push(a)
    const b = await PeerProcess.start({ bundle, dataDir: join(dir, 'b'), name: 'b', args: [...off, '--bridge', url] })
    peers.push(b)
    assert.deepEqual(a.events[0]!.discovery, ['bridge'])
    for (const p of [a, b]) {
      const seen = await p.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === url, 10000)
      assert.equal(seen.peer.source, 'bridge')
      assert.equal(seen.peer.name, 'sync server')
    }
    assert.equal(a.events.filter((e) => e.event === 'peer-connected').length, 1, 'a has no P2P peer')

    const onB = watchDoc(b, '/bridge/hello', (v) => v?.from === 'a', 15000)
    await onB.started
    const put = await a.doc(['put', '/bridge/hello', JSON.stringify({ from: 'a' })])
    assert.equal(put.code, 0, put.stderr)
    const t0 = Date.now()
    console.log(`      a → sync server → b: ${(await onB.seen) - t0} ms`)

    // c: P2P only (no bridge), connected to a by ticket; its write reaches b through a's bridge.
    const c = await PeerProcess.start({ bundle, dataDir: join(dir, 'c'), name: 'c', args: off, connect: [a.ticket] })
    peers.push(c)
    await c.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === a.endpointId)
    const onB2 = watchDoc(b, '/bridge/from-c', (v) => v?.from === 'c', 15000)
    await onB2.started
    const putC = await c.doc(['put', '/bridge/from-c', JSON.stringify({ from: 'c' })])
    assert.equal(putC.code, 0, putC.stderr)
    const t1 = Date.now()
    console.log(`      c → (iroh) a → sync server → b: ${(await onB2.seen) - t1} ms`)
  })

  it('an unreachable sync server does not stop the peer: it retries, P2P keeps working', async () => {
    const d = await PeerProcess.start({ bundle, dataDir: join(dir, 'd'), name: 'd', args: ['--no-mdns', '--bridge', 'ws://127.0.0.1:1/sync'] })
    peers.push(d)
    const put = await d.doc(['put', '/bridge/local', JSON.stringify({ ok: true })])
    assert.equal(put.code, 0, put.stderr)
    assert.equal(d.child.exitCode, null, 'd is still running')
  })

  it('a bad bridge URL is refused with a clear error', async () => {
    const r = await runCli(['serve', bundle, '--data', join(dir, 'e'), '--bind', '127.0.0.1:0', '--bridge', 'http://example.invalid/'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /not a ws:\/\/ or wss:\/\/ URL/)
  })
})
