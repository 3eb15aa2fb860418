// Go Offline means silent: a real `tonk-p2p serve` on its own test host, with every source of traffic
// it has turned on (mDNS, peer exchange, a DHT joined through an explicit bootstrap node on another
// host, a bridge to a WebSocket sync server on a third host, and an iroh peer it dialed), is told
// `tonk-p2p offline`. Then the packets leaving its host (the TX counter of its veth) over 10 s must be
// zero, where the same 10 s online are not; a document written on it meanwhile must reach neither the
// sync server's client nor its iroh peer. `tonk-p2p online` brings mDNS, the DHT, the bridge and the
// iroh peer back, and the document syncs.
//
// Hosts: h1 the peer under test; h2 a bare DHT node (the bootstrap) and an iroh peer h1 dials by
// ticket (no discovery of its own, so nothing on h2 redials h1); h3 the sync server; h4 a peer bridged
// to the sync server only (no P2P) and an mDNS bystander that asks for the service twice a second.
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { watchDoc } from '../helpers/discovery-mesh'
import { TestNetwork, type Host } from '../helpers/netns'
import { PeerProcess } from '../helpers/peers'
import { figure } from './summary'

const DHT_PORT = 46991
const WINDOW_MS = Number(process.env.TONK_OFFLINE_WINDOW_MS ?? 10_000)
/** After `offline` returns: IGMP leave reports and the TCP/QUIC close handshakes finish in this time. */
const SETTLE_MS = 3000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Packets the host's eth0 has sent (its veth end, as the kernel counts them). */
function txPackets(host: Host): number {
  const [link] = JSON.parse(execFileSync('ip', ['-j', '-s', '-n', host.name, 'link', 'show', 'eth0'], { encoding: 'utf8' })) as {
    stats64: { tx: { packets: number } }
  }[]
  return link!.stats64.tx.packets
}

/** A long-running helper process on a host that prints JSON lines; `lines` collects them. */
class Helper {
  readonly lines: Record<string, any>[] = []
  readonly child: ChildProcess
  private stderr = ''
  constructor(host: Host, script: string, args: string[]) {
    this.child = spawn(host.exec[0]!, [...host.exec.slice(1), process.execPath, '--import', 'tsx', join(repoRoot, script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let buffered = ''
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        try {
          this.lines.push(JSON.parse(line))
        } catch {
          this.lines.push({ event: 'text', line })
        }
      }
    })
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d))
  }
  async waitFor(pred: (l: Record<string, any>) => boolean, timeoutMs: number, what: string): Promise<Record<string, any>> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const hit = this.lines.find(pred)
      if (hit) return hit
      if (Date.now() > until) throw new Error(`${what}: not seen in ${timeoutMs} ms\n${JSON.stringify(this.lines.slice(-10))}\n${this.stderr.slice(-2000)}`)
      await sleep(100)
    }
  }
  stop(): void {
    this.child.kill('SIGTERM')
  }
}

describe('security: Go Offline silences every adapter and every discovery source', function () {
  this.timeout(150_000 + 2 * WINDOW_MS)
  let net: TestNetwork
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  const helpers: Helper[] = []

  before(async function () {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      this.skip()
    }
    net = new TestNetwork(4)
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-offline-'))
    bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    for (const h of helpers) h.stop()
    await sleep(200)
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('offline: zero packets leave the host (mDNS, DHT, bridge, iroh); online: everything resumes and the document syncs', async () => {
    const [h1, h2, h3, h4] = net.hosts as [Host, Host, Host, Host]
    // The kernel's own IPv6 router solicitations (RFC 7559: with no router they go on forever, backing
    // off from 4 s) are not Tonk's and would be the only packet left: h1 does not send them.
    spawnSync('ip', ['netns', 'exec', h1.name, 'sysctl', '-qw', 'net.ipv6.conf.eth0.router_solicitations=0'], { stdio: 'ignore' })
    const dhtNode = new Helper(h2, 'test/helpers/dht-node.ts', [h2.address, String(DHT_PORT)])
    const server = new Helper(h3, 'test/helpers/discovery-sync-server.ts', ['0', h3.address])
    const observer = new Helper(h4, 'test/helpers/mdns-observer.ts', ['_tonk-sync._udp'])
    helpers.push(dhtNode, server, observer)
    await dhtNode.waitFor((l) => l.event === 'listening', 10_000, 'DHT node')
    const port = Number(/listening (\d+)/.exec((await server.waitFor((l) => l.event === 'text' && /listening/.test(l.line), 10_000, 'sync server')).line)![1])
    const url = `ws://${h3.address}:${port}`
    await observer.waitFor((l) => l.event === 'listening', 10_000, 'mDNS observer')

    const start = async (name: string, host: Host, args: string[], connect?: string[]) => {
      const p = await PeerProcess.start({ bundle, dataDir: join(dir, name), host, name, args, connect })
      peers.push(p)
      return p
    }
    const quiet = ['--no-mdns', '--no-exchange']
    const p2p = await start('p2p', h2, quiet)
    const client = await start('client', h4, [...quiet, '--bridge', url])
    const a = await start('a', h1, ['--dht-bootstrap', `${h2.address}:${DHT_PORT}`, '--bridge', url], [p2p.ticket])
    assert.deepEqual([...a.events[0]!.discovery].sort(), ['bridge', 'dht', 'exchange', 'mdns'])

    // Online: every source of a's is talking.
    await a.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === p2p.endpointId, 15_000)
    await a.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === url, 15_000)
    await client.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === url, 15_000)
    await observer.waitFor((l) => l.event === 'answer' && l.from === h1.address && !l.goodbye, 15_000, 'mDNS answer from a')
    await dhtNode.waitFor((l) => l.event === 'put' || l.event === 'announce', 15_000, 'a publishing to the DHT')
    const online0 = txPackets(h1)
    await sleep(WINDOW_MS)
    const onlineSent = txPackets(h1) - online0

    // Offline, then a document written on a: nothing may leave h1.
    const onClient = watchDoc(client, '/offline/secret', (v) => v?.n === 1, 120_000)
    const onP2p = watchDoc(p2p, '/offline/secret', (v) => v?.n === 1, 120_000)
    await Promise.all([onClient.started, onP2p.started])
    const off = await runCli(['--json', 'offline', '--data', join(dir, 'a')], { wrap: h1.exec })
    assert.equal(off.code, 0, off.stderr)
    assert.equal(JSON.parse(off.stdout).online, false)
    await sleep(SETTLE_MS)
    const quietFrom = Date.now()
    const offline0 = txPackets(h1)
    const put = await a.doc(['put', '/offline/secret', JSON.stringify({ n: 1 })])
    assert.equal(put.code, 0, put.stderr)
    await sleep(WINDOW_MS)
    const offlineSent = txPackets(h1) - offline0
    const answersWhileOffline = observer.lines.filter((l) => l.event === 'answer' && l.from === h1.address && !l.goodbye && l.at >= quietFrom).length
    const dhtWhileOffline = dhtNode.lines.filter((l) => l.event !== 'listening' && l.at >= quietFrom).length
    const goodbye = observer.lines.some((l) => l.event === 'answer' && l.from === h1.address && l.goodbye)
    // A watcher that saw the document has resolved by now; a still pending one loses the race to sleep(0).
    const reached = (seen: Promise<number>) => Promise.race([seen.then(() => true, () => false), sleep(0).then(() => false)])
    const leaked = [(await reached(onClient.seen)) && "the sync server's client", (await reached(onP2p.seen)) && 'the iroh peer'].filter(Boolean)
    figure(
      'security',
      `packets sent by a serve host in ${WINDOW_MS / 1000} s: online ${onlineSent}, offline ${offlineSent} (offline: mDNS answers ${answersWhileOffline}, DHT messages ${dhtWhileOffline}, document written offline reached ${leaked.join(' and ') || 'nobody'}; mDNS goodbye ${goodbye ? 'sent' : 'not sent'})`,
    )
    assert.ok(onlineSent > 0, 'the host sends packets while online (else this test could not fail)')
    assert.equal(answersWhileOffline, 0, 'no mDNS answers while offline')
    assert.equal(dhtWhileOffline, 0, 'no DHT traffic while offline')
    assert.equal(offlineSent, 0, 'no packet leaves an offline host')
    assert.ok(goodbye, 'mDNS said goodbye (TTL 0) when going offline')
    assert.deepEqual(leaked, [], 'the document written offline stays on the offline peer')

    // Online again: mDNS, DHT, bridge and iroh resume; the document reaches both.
    const onlineAt = Date.now()
    const on = await runCli(['--json', 'online', '--data', join(dir, 'a')], { wrap: h1.exec })
    assert.equal(on.code, 0, on.stderr)
    assert.equal(JSON.parse(on.stdout).online, true)
    const answeredAt = Date.now()
    const reconnected = (id: string) => a.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === id && Date.parse(e.at) >= onlineAt, 15_000)
    const [p2pBack, bridgeBack] = await Promise.all([reconnected(p2p.endpointId), reconnected(url)])
    const [clientAt, p2pAt] = await Promise.all([onClient.seen, onP2p.seen])
    await observer.waitFor((l) => l.event === 'answer' && l.from === h1.address && !l.goodbye && l.at >= onlineAt, 15_000, 'mDNS answers after online')
    await dhtNode.waitFor((l) => (l.event === 'put' || l.event === 'announce') && l.at >= onlineAt, 15_000, 'DHT publishing after online')
    const after = (t: number | string) => `${(typeof t === 'string' ? Date.parse(t) : t) - onlineAt} ms`
    figure(
      'security',
      `after \`tonk-p2p online\` (answered in ${after(answeredAt)}): iroh peer reconnected in ${after(p2pBack.at)}, sync server in ${after(bridgeBack.at)}; the document written offline reached the iroh peer in ${after(p2pAt)}, the sync server's client in ${after(clientAt)}`,
    )
  })
})
