// Discovery beyond the LAN, with mDNS off everywhere: peer exchange (A knows only B, B knows C, and A
// reaches C directly), tickets / manifest bootstrapPeers / known peers, and the Mainline DHT (a DHT made of the test hosts only: every peer is given the
// first host's DHT node as bootstrap, and the first one skips itself). Never the public routers.
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EndpointAddr, EndpointTicket, SecretKey } from '../../src/core/net/iroh'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { percentile, waitForMesh, watchDoc } from '../helpers/discovery-mesh'
import { TestNetwork } from '../helpers/netns'
import { PeerProcess } from '../helpers/peers'

const DHT_PORT = 46881

describe('discovery: peer exchange and a DHT of the test hosts (mDNS off)', function () {
  this.timeout(60000)
  let net: TestNetwork
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  const start = async (name: string, host: number, args: string[], connect?: string[]) => {
    const p = await PeerProcess.start({ bundle, dataDir: join(dir, name), host: net.hosts[host]!, name, args, connect })
    peers.push(p)
    return p
  }
  const stopAll = async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()))
  }

  before(async function () {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      this.skip()
    }
    net = new TestNetwork(3)
    dir = mkdtempSync(join(tmpdir(), 'tonk-disc-wan-'))
    bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
  })
  after(async () => {
    await stopAll()
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('peer exchange: A knows only B and B knows C, yet A and C connect directly', async () => {
    const [h1, , h3] = net.hosts
    const b = await start('b', 1, ['--no-mdns'])
    const c = await start('c', 2, ['--no-mdns'], [b.ticket])
    await c.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === b.endpointId)
    const a = await start('a', 0, ['--no-mdns'], [b.ticket])
    const aSeesC = await a.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === c.endpointId, 10000)
    const cSeesA = await c.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === a.endpointId, 10000)
    console.log(`      A↔C via ${aSeesC.peer.source}/${cSeesA.peer.source}, path ${aSeesC.peer.path?.kind} ${aSeesC.peer.path?.remoteAddr}`)
    assert.ok([aSeesC.peer.source, cSeesA.peer.source].includes('exchange'), 'found through peer exchange')
    assert.equal(aSeesC.peer.path?.kind, 'direct')
    assert.ok(aSeesC.peer.path?.remoteAddr.startsWith(`${h3!.address}:`), 'A reaches C at C\'s own address, not through B')
    assert.ok(cSeesA.peer.path?.remoteAddr.startsWith(`${h1!.address}:`))
    await stopAll()
  })

  it('tickets and bootstrap: the manifest\'s bootstrapPeers are dialed at start; known peers are redialed after a restart', async () => {
    // A's identity and port are fixed beforehand, so its ticket can go into the bundle it serves.
    const secret = SecretKey.generate()
    const aDir = join(dir, 'boot-a')
    mkdirSync(aDir, { recursive: true })
    writeFileSync(join(aDir, 'identity.key'), Buffer.from(secret.toBytes()).toString('hex') + '\n')
    const aAddr = `${net.hosts[0]!.address}:47001`
    const ticket = EndpointTicket.fromAddr(new EndpointAddr(secret.public(), null, [aAddr])).toString()
    const src = join(dir, 'boot-src')
    cpSync(join(repoRoot, 'examples', 'my-world'), src, { recursive: true })
    const manifest = JSON.parse(readFileSync(join(src, 'tonk.json'), 'utf8'))
    manifest.sync.discovery.bootstrapPeers = [ticket]
    writeFileSync(join(src, 'tonk.json'), JSON.stringify(manifest, null, 2))
    const booted = join(dir, 'booted.zip')
    assert.equal((await runCli(['pack', src, '-o', booted])).code, 0)
    const off = ['--no-mdns', '--no-exchange']
    const a = await PeerProcess.start({ bundle: booted, dataDir: aDir, host: net.hosts[0]!, name: 'boot-a', args: [...off, '--bind', aAddr] })
    peers.push(a)
    assert.equal(a.endpointId, secret.public().toString())
    const b = await PeerProcess.start({ bundle: booted, dataDir: join(dir, 'boot-b'), host: net.hosts[1]!, name: 'boot-b', args: off })
    peers.push(b)
    const bSeesA = await b.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === a.endpointId, 10000)
    assert.equal(bSeesA.peer.source, 'bootstrap')

    // c dials b by ticket once; restarted with no ticket, it finds b again from known-peers.json.
    const cOpts = { bundle: booted, dataDir: join(dir, 'boot-c'), host: net.hosts[2]!, name: 'boot-c', args: off }
    let c = await PeerProcess.start({ ...cOpts, connect: [b.ticket] })
    assert.equal((await c.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === b.endpointId, 10000)).peer.source, 'ticket')
    await c.stop()
    c = await PeerProcess.start(cOpts)
    peers.push(c)
    assert.equal((await c.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === b.endpointId, 10000)).peer.source, 'known')
    await stopAll()
  })

  it('DHT only: three peers with an explicit bootstrap find each other within a second and sync', async () => {
    const bootstrap = `${net.hosts[0]!.address}:${DHT_PORT}`
    const args = ['--no-mdns', '--no-exchange', '--dht-bootstrap', bootstrap, '--dht-port', String(DHT_PORT)]
    const a = await start('a2', 0, args)
    const b = await start('b2', 1, args)
    const c = await start('c2', 2, args)
    assert.deepEqual(a.events[0]!.discovery, ['dht'])
    const mesh = await waitForMesh([a, b, c])
    const ms = mesh.map((m) => m.ms)
    console.log(`      discovery (DHT) after both peers were ready: p50 ${percentile(ms, 50)} ms, max ${Math.max(...ms)} ms (${mesh.map((m) => `${m.pair} ${m.ms} ms via ${m.source}`).join(', ')})`)
    for (const m of mesh) assert.ok(m.ms < 1000, `${m.pair} took ${m.ms} ms`)
    assert.ok(mesh.every((m) => m.source === 'dht' || m.source === 'incoming'), mesh.map((m) => m.source).join())

    const watchers = [b, c].map((p) => watchDoc(p, '/wan/hello', (v) => v?.from === 'a2'))
    await Promise.all(watchers.map((w) => w.started))
    const put = await a.doc(['put', '/wan/hello', JSON.stringify({ from: 'a2' })])
    assert.equal(put.code, 0, put.stderr)
    const putDone = Date.now()
    const [onB, onC] = (await Promise.all(watchers.map((w) => w.seen))).map((t) => t - putDone)
    console.log(`      doc put on a2 (returned) → value on b2 after ${onB} ms, on c2 after ${onC} ms`)
    assert.ok(onB! < 1000 && onC! < 1000, `b: ${onB} ms, c: ${onC} ms`)
  })
})
