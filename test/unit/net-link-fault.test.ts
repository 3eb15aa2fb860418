// Faults per link (src/core/net/link-fault.ts): order kept under jitter, drops counted, bounds checked,
// and the peer resolution of `tonk-p2p link PEER`.
import assert from 'node:assert/strict'
import { checkFault, FaultedDirection, LinkFaults } from '../../src/core/net/link-fault'
import { resolvePeer } from '../../src/core/host/link-commands'
import type { PeerInfo } from '../../src/core/net/types'

const row = (endpointId: string, name?: string): PeerInfo => ({ endpointId, name, state: 'connected', bytesIn: 0, bytesOut: 0, dialed: false, connections: 1 })

describe('net: link faults', () => {
  it('delay with jitter keeps the order of frames and holds each at least delay - jitter', async () => {
    let seed = 7
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647)
    const dir = new FaultedDirection(random)
    const got: { n: number; at: number }[] = []
    const t0 = Date.now()
    for (let n = 0; n < 50; n++) dir.apply({ kind: 'delay', ms: 60, jitterMs: 40 }, 10, () => got.push({ n, at: Date.now() }))
    assert.equal(got.length, 0, 'nothing passes at once')
    await new Promise((r) => setTimeout(r, 250))
    assert.deepEqual(got.map((g) => g.n), [...Array(50).keys()])
    assert.ok(got[0]!.at - t0 >= 19, `first frame after ${got[0]!.at - t0} ms`)
    assert.equal(dir.delayed, 50)
  })

  it('after a delay is cleared, frames still wait behind held ones', async () => {
    const dir = new FaultedDirection()
    const got: number[] = []
    dir.apply({ kind: 'delay', ms: 50 }, 1, () => got.push(1))
    dir.apply(undefined, 1, () => got.push(2))
    assert.equal(got.length, 0)
    await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(got, [1, 2])
    dir.apply(undefined, 1, () => got.push(3))
    assert.deepEqual(got, [1, 2, 3], 'no fault and nothing held: passes at once')
  })

  it('drop drops and counts; loss drops about its share', () => {
    const dir = new FaultedDirection()
    let passed = 0
    for (let i = 0; i < 10; i++) dir.apply({ kind: 'drop' }, 1, () => passed++)
    assert.equal(passed, 0)
    assert.equal(dir.dropped, 10)
    const lossy = new FaultedDirection()
    for (let i = 0; i < 2000; i++) lossy.apply({ kind: 'loss', pct: 30 }, 1, () => passed++)
    assert.ok(lossy.dropped > 450 && lossy.dropped < 750, `dropped ${lossy.dropped} of 2000 at 30 %`)
  })

  it('checks faults from users and shows them on the row', () => {
    assert.throws(() => checkFault({ kind: 'delay', ms: -1 }), /delay/)
    assert.throws(() => checkFault({ kind: 'delay', ms: 1e9 }), /delay/)
    assert.throws(() => checkFault({ kind: 'loss', pct: 101 }), /loss/)
    assert.throws(() => checkFault({ kind: 'nope' } as never), /drop, delay or loss/)
    const faults = new LinkFaults()
    faults.set('abc', { kind: 'delay', ms: 200, jitterMs: 20 })
    assert.equal(faults.info('abc')?.label, 'delay 200ms ±20ms')
    faults.set('abc', undefined)
    assert.equal(faults.info('abc'), undefined)
  })

  it('resolves PEER by id, unique prefix or name; none or several is E_LINK_PEER', () => {
    const peers = [row('aa11', 'alice'), row('aa22', 'bob'), row('bb33', 'bob')]
    assert.equal(resolvePeer(peers, 'aa11').endpointId, 'aa11')
    assert.equal(resolvePeer(peers, 'aa1').endpointId, 'aa11')
    assert.equal(resolvePeer(peers, 'alice').endpointId, 'aa11')
    assert.throws(() => resolvePeer(peers, 'aa'), (e: { code?: string }) => e.code === 'E_LINK_PEER')
    assert.throws(() => resolvePeer(peers, 'bob'), (e: { code?: string }) => e.code === 'E_LINK_PEER')
    assert.throws(() => resolvePeer(peers, 'zz'), (e: { code?: string }) => e.code === 'E_LINK_PEER')
  })
})
