// Zero-config discovery on a LAN (mDNS): `tonk-p2p serve` peers on separate hosts (network namespaces
// on one bridge) started with no ticket and no configuration find each other within a second and sync;
// a late joiner gets the existing documents; a host that drops off the bridge and comes back catches up;
// a peer of another bundle on the same LAN is never dialed. Discovery times are printed.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { percentile, pollDoc, waitForMesh, watchDoc } from '../helpers/discovery-mesh'
import { TestNetwork } from '../helpers/netns'
import { PeerProcess } from '../helpers/peers'

describe('discovery: zero-config LAN (mDNS) on separate hosts', function () {
  this.timeout(60000)
  let net: TestNetwork
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  const start = async (name: string, host: number, extra: string[] = [], b = bundle) => {
    const p = await PeerProcess.start({ bundle: b, dataDir: join(dir, name), host: net.hosts[host]!, name, args: extra })
    peers.push(p)
    return p
  }

  before(async function () {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      this.skip()
    }
    net = new TestNetwork(5)
    dir = mkdtempSync(join(tmpdir(), 'tonk-disc-lan-'))
    bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('three peers with no ticket and no configuration see each other within a second and sync', async () => {
    const a = await start('a', 0)
    const b = await start('b', 1)
    const c = await start('c', 2)
    assert.deepEqual(a.events[0]!.discovery, ['mdns', 'exchange'])
    const mesh = await waitForMesh([a, b, c])
    const ms = mesh.map((m) => m.ms)
    console.log(`      discovery (mDNS) after both peers were ready: p50 ${percentile(ms, 50)} ms, max ${Math.max(...ms)} ms (${mesh.map((m) => `${m.pair} ${m.ms} ms via ${m.source}`).join(', ')})`)
    for (const m of mesh) assert.ok(m.ms < 1000, `${m.pair} took ${m.ms} ms`)
    // Every pair was dialed because of mDNS (an inbound connection is relabeled once mDNS reports it too).
    for (const m of mesh) assert.equal(m.source, 'mdns', `${m.pair} via ${m.source}`)

    // Watchers on b and c first (a `doc get` per poll costs ~0.3 s of process start-up), then the put.
    const watchers = [b, c].map((p) => watchDoc(p, '/lan/hello', (v) => v?.from === 'a'))
    await Promise.all(watchers.map((w) => w.started))
    const put = await a.doc(['put', '/lan/hello', JSON.stringify({ from: 'a', at: Date.now() })])
    assert.equal(put.code, 0, put.stderr)
    const putDone = Date.now()
    const [onB, onC] = (await Promise.all(watchers.map((w) => w.seen))).map((t) => t - putDone)
    console.log(`      doc put on a (returned) → value on b after ${onB} ms, on c after ${onC} ms`)
    assert.ok(onB! < 1000 && onC! < 1000, `b: ${onB} ms, c: ${onC} ms`)
    for (const p of [b, c]) {
      const got = await p.doc(['get', '/lan/hello'])
      assert.equal(JSON.parse(got.stdout).value.from, 'a', `doc get on ${p.options.name}`)
    }
  })

  it('a late joiner finds the running peers and gets the documents written before it came', async () => {
    const [a, b, c] = peers
    const d = await start('d', 3)
    const mesh = await waitForMesh([a!, b!, c!, d])
    const late = mesh.filter((m) => m.pair.includes('d'))
    console.log(`      late joiner: ${late.map((m) => `${m.pair} ${m.ms} ms`).join(', ')}`)
    for (const m of late) assert.ok(m.ms < 1000, `${m.pair} took ${m.ms} ms`)
    const got = await pollDoc(d, '/lan/hello', (v) => v?.from === 'a', 5000)
    assert.ok(got !== undefined, 'd never read /lan/hello')
  })

  it('a host that leaves the LAN and comes back catches up both ways', async () => {
    const [a, , c] = peers
    net.setLink(net.hosts[2]!, false)
    const putA = await a!.doc(['put', '/lan/while-away', JSON.stringify({ from: 'a' })])
    assert.equal(putA.code, 0, putA.stderr)
    const putC = await c!.doc(['put', '/lan/from-c', JSON.stringify({ from: 'c' })])
    assert.equal(putC.code, 0, putC.stderr)
    assert.equal(await pollDoc(c!, '/lan/while-away', (v) => v?.from === 'a', 1500), undefined, 'c is cut off yet got the change')
    net.setLink(net.hosts[2]!, true)
    const [onC, onA] = await Promise.all([
      pollDoc(c!, '/lan/while-away', (v) => v?.from === 'a', 20000),
      pollDoc(a!, '/lan/from-c', (v) => v?.from === 'c', 20000),
    ])
    console.log(`      after the link came back: c had a's change after ${onC?.toFixed(0)} ms, a had c's after ${onA?.toFixed(0)} ms`)
    assert.ok(onC !== undefined, 'c never caught up')
    assert.ok(onA !== undefined, 'a never got the change c made while away')
  })

  it('a peer of another bundle on the same LAN is ignored: never dialed, never refused', async () => {
    const otherSrc = join(dir, 'other')
    assert.equal((await runCli(['init', otherSrc, '--name', 'other-app'])).code, 0)
    const other = join(dir, 'other.zip')
    assert.equal((await runCli(['pack', otherSrc, '-o', other])).code, 0)
    const x = await start('x', 4, ['--log-level', 'debug'], other)
    // mDNS answers come within milliseconds; a dial and its refusal would follow at once.
    await new Promise((r) => setTimeout(r, 2000))
    assert.match(x.stderr.join(''), /mdns: ignoring tonk-/, 'x saw the other peers and filtered them')
    for (const p of peers) {
      const seen = p.events.filter((e) => (e.event === 'peer-refused' || e.event === 'peer-connected') && (e.endpointId === x.endpointId || e.peer?.endpointId === x.endpointId))
      assert.deepEqual(seen, [], `${p.options.name} saw x`)
    }
    assert.deepEqual(x.events.filter((e) => e.event === 'peer-refused' || e.event === 'peer-connected'), [])
  })
})
