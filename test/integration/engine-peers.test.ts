// The engine as users run it: every peer is its own `tonk-p2p serve` process talking real iroh QUIC,
// documents are read and written with `tonk-p2p doc` (through each peer's control socket).
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess, docCommand, waitForDoc } from '../helpers/peers'
import { connectControl } from '../../src/core/host/control'

const example = join(repoRoot, 'examples', 'my-world')

async function put(peer: PeerProcess, path: string, value: unknown): Promise<void> {
  const r = await peer.doc(['put', path, JSON.stringify(value)])
  assert.equal(r.code, 0, r.stderr)
}

describe('engine: headless peers in separate processes over iroh', function () {
  this.timeout(90000)
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  const start = async (name: string, connect: string[] = [], bundlePath = bundle, extra: string[] = []) => {
    const p = await PeerProcess.start({ bundle: bundlePath, dataDir: join(dir, name), connect, name, args: extra })
    peers.push(p)
    return p
  }
  const connected = (p: PeerProcess, other: PeerProcess) =>
    p.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === other.endpointId, 15000)

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-engine-'))
    bundle = join(dir, 'my-world.zip')
    const r = await runCli(['pack', example, '-o', bundle])
    assert.equal(r.code, 0, r.stderr)
  })
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('two peers sync a change both ways', async () => {
    const a = await start('two-a')
    const b = await start('two-b', [a.ticket])
    await Promise.all([connected(a, b), connected(b, a)])
    await put(a, '/notes/from-a', { text: 'hello from A' })
    await waitForDoc(b.options.dataDir, '/notes/from-a', (v) => v?.text === 'hello from A')
    await put(b, '/notes/from-b', { text: 'hello from B' })
    await waitForDoc(a.options.dataDir, '/notes/from-b', (v) => v?.text === 'hello from B')
    // Both wrote into the same directory document concurrently-ish: both entries survive on both sides.
    for (const p of [a, b]) {
      const ls = JSON.parse((await p.doc(['ls', '/notes'])).stdout).map((e: { name: string }) => e.name).sort()
      assert.deepEqual(ls, ['from-a', 'from-b'])
    }
    // The session snapshot (what the views show) has the path, heads and saved size of each document.
    const control = (await connectControl(join(a.options.dataDir, 'control.sock')))!
    const status = await control.call<{ documents: { path: string; heads: string[]; size?: number }[] }>('status')
    control.close()
    const doc = status.documents.find((d) => d.path === '/notes/from-a')
    assert.ok(doc && doc.heads.length > 0 && (doc.size ?? 0) > 0, JSON.stringify(status.documents))
  })

  it('three peers: a change on one reaches the other two, both ways', async () => {
    const a = await start('three-a')
    const b = await start('three-b', [a.ticket])
    const c = await start('three-c', [a.ticket])
    await Promise.all([connected(a, b), connected(a, c)])
    await put(c, '/three/c', { from: 'c' })
    await Promise.all([
      waitForDoc(a.options.dataDir, '/three/c', (v) => v?.from === 'c'),
      waitForDoc(b.options.dataDir, '/three/c', (v) => v?.from === 'c'),
    ])
    await put(b, '/three/b', { from: 'b' })
    await waitForDoc(c.options.dataDir, '/three/b', (v) => v?.from === 'b')
  })

  it('a late joiner receives everything written before it came', async () => {
    const a = await start('late-a')
    const b = await start('late-b', [a.ticket])
    await connected(a, b)
    for (let i = 0; i < 10; i++) await put(i % 2 ? a : b, `/late/doc-${i}`, { i })
    const c = await start('late-c', [b.ticket])
    await connected(c, b)
    for (let i = 0; i < 10; i++) await waitForDoc(c.options.dataDir, `/late/doc-${i}`, (v) => v?.i === i)
  })

  it('a restarted peer keeps its identity and catches up on what it missed', async () => {
    const a = await start('restart-a')
    let b = await start('restart-b', [a.ticket])
    await connected(a, b)
    const firstId = b.endpointId
    await put(a, '/restart/before', { n: 1 })
    await waitForDoc(b.options.dataDir, '/restart/before', (v) => v?.n === 1)
    await b.stop()
    peers.splice(peers.indexOf(b), 1)
    await put(a, '/restart/while-away', { n: 2 })
    b = await start('restart-b', [a.ticket])
    assert.equal(b.endpointId, firstId, 'identity is stable across restarts')
    await waitForDoc(b.options.dataDir, '/restart/while-away', (v) => v?.n === 2)
    await waitForDoc(b.options.dataDir, '/restart/before', (v) => v?.n === 1)
  })

  it('refuses a peer of another app without telling it anything (E_REFUSED), and says why in its own log', async () => {
    const otherDir = join(dir, 'other-src')
    assert.equal((await runCli(['init', otherDir, '--name', 'other-app'])).code, 0)
    const other = join(dir, 'other.zip')
    assert.equal((await runCli(['pack', otherDir, '-o', other])).code, 0)
    const a = await start('foreign-a')
    const x = await start('foreign-x', [a.ticket], other)
    const seenByX = await x.waitFor((e) => e.event === 'peer-refused', 15000)
    const seenByA = await a.waitFor((e) => e.event === 'peer-refused', 15000)
    // Another app's key: neither side can open the other's sealed hello, so each refuses the other as
    // a stranger; the words stay local.
    assert.equal(seenByA.code, 'E_REFUSED')
    assert.equal(seenByX.code, 'E_REFUSED')
    assert.match(seenByA.reason, /does not hold this bundle's key/)
    assert.match(seenByX.reason, /does not hold this bundle's key|refused this session \(E_REFUSED\)/)
    assert.ok(!x.events.some((e) => e.event === 'peer-connected'))
  })

  it('refuses a peer whose protocol version is incompatible', async () => {
    const src = join(dir, 'v2-src')
    cpSync(example, src, { recursive: true })
    const manifest = JSON.parse(readFileSync(join(src, 'tonk.json'), 'utf8'))
    manifest.sync.protocolVersion = '2.0.0'
    manifest.sync.minCompatibleVersion = '2.0.0'
    writeFileSync(join(src, 'tonk.json'), JSON.stringify(manifest, null, 2))
    const v2 = join(dir, 'v2.zip')
    assert.equal((await runCli(['pack', src, '-o', v2])).code, 0)
    const a = await start('proto-a')
    const x = await start('proto-x', [a.ticket], v2)
    const refused = await x.waitFor((e) => e.event === 'peer-refused', 15000)
    // A v2 bundle is also another bundle (its id differs): either refusal names a real reason.
    assert.match(refused.code, /E_PROTOCOL_INCOMPATIBLE|E_BUNDLE_MISMATCH/)
    assert.ok(!x.events.some((e) => e.event === 'peer-connected'))
  })
})
