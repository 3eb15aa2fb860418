// Two hosts (network namespaces on one bridge): `serve` on each, B dials A's ticket, a `doc put` on A is
// readable with `doc get` on B within a second; a peer serving another bundle is refused.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { TestNetwork } from '../helpers/netns'
import { PeerProcess } from '../helpers/peers'

describe('engine: two hosts on a bridge', function () {
  this.timeout(60000)
  let net: TestNetwork
  let dir: string
  const peers: PeerProcess[] = []

  before(function () {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      this.skip()
    }
    net = new TestNetwork(3)
    dir = mkdtempSync(join(tmpdir(), 'tonk-hosts-'))
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('B dials A by ticket; doc put on A is readable on B within a second', async () => {
    const bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    const [h1, h2] = net.hosts
    const a = await PeerProcess.start({ bundle, dataDir: join(dir, 'a'), host: h1, name: 'a' })
    peers.push(a)
    assert.ok(a.ticket.length > 0)
    const b = await PeerProcess.start({ bundle, dataDir: join(dir, 'b'), host: h2, name: 'b', connect: [a.ticket] })
    peers.push(b)
    const seen = await b.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === a.endpointId, 15000)
    assert.equal(seen.peer.path?.kind, 'direct')
    assert.match(seen.peer.path?.remoteAddr ?? '', new RegExp(`^${h1!.address.replace(/\./g, '\\.')}:`), 'B reaches A over the bridge')

    const put = await a.doc(['put', '/hosts/hello', JSON.stringify({ from: 'host 1', at: Date.now() })])
    assert.equal(put.code, 0, put.stderr)
    const started = performance.now()
    let value: any
    while (performance.now() - started < 1000) {
      const got = await b.doc(['get', '/hosts/hello'])
      if (got.code === 0 && (value = JSON.parse(got.stdout).value)?.from === 'host 1') break
      value = undefined
    }
    const ms = performance.now() - started
    console.log(`      doc get on B returned A's value ${ms.toFixed(0)} ms after doc put on A returned`)
    assert.equal(value?.from, 'host 1', `B did not have the value within a second (${ms.toFixed(0)} ms)`)
  })

  it('a peer serving another app on a third host is refused (E_REFUSED), with a clear message in its own log', async () => {
    const [h1, , h3] = net.hosts
    const a = peers[0]!
    const otherSrc = join(dir, 'other')
    assert.equal((await runCli(['init', otherSrc, '--name', 'other-app'])).code, 0)
    const other = join(dir, 'other.zip')
    assert.equal((await runCli(['pack', otherSrc, '-o', other])).code, 0)
    const x = await PeerProcess.start({ bundle: other, dataDir: join(dir, 'x'), host: h3, name: 'x', connect: [a.ticket] })
    peers.push(x)
    const refused = await x.waitFor((e) => e.event === 'peer-refused', 15000)
    assert.equal(refused.code, 'E_REFUSED')
    assert.match(refused.reason, /bundle/)
    const onA = await a.waitFor((e) => e.event === 'peer-refused' && e.endpointId === x.endpointId, 15000)
    console.log(`      A says: ${onA.reason}`)
    assert.ok(h1)
  })
})
