// The adapter's limits on dials discovery asks for (src/core/discovery/discovered-dials.ts), on real iroh
// endpoints over loopback: peers that never answer are at an address where nothing listens.
import assert from 'node:assert/strict'
import type { PeerId } from '@automerge/automerge-repo/slim'
import { SecretKey } from '../../src/core/net/iroh'
import type { IrohNetworkAdapterOptions } from '../../src/core/net/iroh-adapter'
import { assertIsolated } from '../helpers/ensure-isolated'
import { eventually, makePeer, sleep, type TestPeer } from '../helpers/net-fixtures'

/** A real endpoint id nobody runs, at a loopback port nobody listens on. */
const nobody = () => `${SecretKey.generate().public().toString()}@127.0.0.1:9`

describe('IrohNetworkAdapter: limits on discovered dials', function () {
  this.timeout(60_000)
  const peers: TestPeer[] = []
  before(() => assertIsolated())
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close().catch(() => {})))
  })

  /** A peer whose dial attempts are counted (one debug line per failed attempt). */
  const peer = async (adapter: Partial<IrohNetworkAdapterOptions> = {}) => {
    const failed: string[] = []
    const p = await makePeer({
      adapter: {
        dialTimeoutMs: 300,
        backoff: { initialMs: 20, maxMs: 50 },
        logger: { debug: (m) => /^net: dial \S+ failed/.test(m) && failed.push(m), info: () => {}, warn: () => {}, error: () => {} },
        ...adapter,
      },
    })
    p.adapter.connect(p.id.slice(0, 6) as PeerId)
    peers.push(p)
    return { ...p, failed }
  }
  const dialedIds = (p: TestPeer) => p.adapter.peerInfos().filter((i) => i.dialed).map((i) => i.endpointId)

  it('holds at most maxTargets unreached discovered peers, forgets each after maxFailures dials; a connected one does not count', async () => {
    const a = await peer({ discoveredDials: { maxTargets: 3, maxFailures: 2, dialsPerSecond: 100, burst: 100 } })
    const b = await peer()
    const dropped: string[] = []
    a.adapter.events.on('dial-dropped', (e) => dropped.push(e.endpointId))
    const bId = a.adapter.dial(b.ticket, { discovered: true })
    await eventually(() => a.adapter.connectionStatus(bId) === 'connected', 10_000, 'a connects to b')
    const ids = [nobody(), nobody(), nobody()].map((t) => a.adapter.dial(t, { discovered: true }))
    assert.throws(() => a.adapter.dial(nobody(), { discovered: true }), (e: Error & { code?: string }) => e.code === 'E_DIAL_LIMIT')
    const person = a.adapter.dial(nobody()) // a person's ticket: not limited, never forgotten
    await eventually(() => dropped.length === 3, 10_000, 'the three unreached discovered peers forgotten')
    assert.deepEqual(dropped.sort(), [...ids].sort())
    assert.equal(a.failed.filter((l) => l.includes(ids[0]!.slice(0, 8))).length, 2, 'two failed dials each, then forgotten')
    await sleep(500)
    assert.deepEqual(dialedIds(a).sort(), [bId, person].sort(), "b (connected) and the person's target stay")
    a.adapter.dial(nobody(), { discovered: true }) // room again
  })

  it('a person dialing a discovered peer makes it a person\'s target: never forgotten', async () => {
    const a = await peer({ discoveredDials: { maxFailures: 2, dialsPerSecond: 100, burst: 100 } })
    const target = nobody()
    const id = a.adapter.dial(target, { discovered: true })
    a.adapter.dial(target)
    await sleep(2000)
    assert.ok(a.failed.length >= 3, `${a.failed.length} failed dials`)
    assert.equal(a.adapter.connectionStatus(id), 'dialing')
  })

  it('dial attempts of discovered peers share one budget (dialsPerSecond, burst)', async () => {
    const a = await peer({ discoveredDials: { maxTargets: 8, maxFailures: 2, dialsPerSecond: 4, burst: 2 } })
    const started = Date.now()
    for (let i = 0; i < 6; i++) a.adapter.dial(nobody(), { discovered: true })
    // 12 attempts: 2 from the burst, 10 at 4/s: at least 2.5 s (without the budget ~0.7 s).
    await eventually(() => dialedIds(a).length === 0, 20_000, 'all forgotten')
    const took = Date.now() - started
    assert.equal(a.failed.length, 12)
    assert.ok(took >= 2300, `12 attempts took ${took} ms`)
  })
})
