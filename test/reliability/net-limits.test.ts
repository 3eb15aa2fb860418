// The adapter's own defences, on real endpoints in this process: a peer that completes the handshake
// and then never reads is dropped when its write queue reaches the hard limit (memory stays bounded
// while the Repo keeps sending), and the per-peer token buckets (unit-tested with a fake clock).
import assert from 'node:assert/strict'
import { cbor, type Message, type PeerId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { toNumberArray } from '../../src/core/net/bytes'
import { alpnBytes, parseDialTarget, TONK_SYNC_ALPN } from '../../src/core/net/endpoint'
import { encodeFrame } from '../../src/core/net/framing'
import { HANDSHAKE_VERSION, seal, sealContext } from '../../src/core/net/handshake'
import type { PeerClosedEvent } from '../../src/core/net/iroh-adapter'
import { PeerRateLimiter, TokenBucket } from '../../src/core/net/rate-limit'
import { assertIsolated } from '../helpers/ensure-isolated'
import { BUNDLE_A, TEST_KEY, makeEndpoint, makePeer, testHello, waitForEvent, type TestPeer } from '../helpers/net-fixtures'
import { count, figure } from './summary'

const MiB = 1024 * 1024
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('reliability: per-peer rate limits (token buckets, fake clock)', () => {
  it('a bucket lets a burst through, then charges debt in ms at its rate', () => {
    const b = new TokenBucket(100, 200, 0)
    for (let i = 0; i < 200; i++) assert.equal(b.take(1, 0), 0)
    assert.equal(b.take(1, 0), 10, 'one token in debt at 100/s = 10 ms')
    assert.equal(b.take(1, 1000), 0, 'a second later the bucket refilled')
  })

  it('bursts are throttled but not dropped; a peer over the rate without a break is dropped after maxThrottledMs', () => {
    let now = 0
    const limiter = new PeerRateLimiter({ messagesPerSecond: 1000, bytesPerSecond: 1 * MiB, burstSeconds: 1, maxThrottledMs: 2000 }, 64 * 1024, () => now)
    // A burst twice the bucket, then quiet: throttled for a while, never exceeded.
    let waited = 0
    for (let i = 0; i < 2000; i++) {
      const c = limiter.charge(100)
      assert.equal(c.exceeded, false)
      waited += c.waitMs >= 10 ? c.waitMs : 0
      now += c.waitMs >= 10 ? c.waitMs : 0
    }
    assert.ok(waited > 500, `the burst past the bucket waited ${waited} ms`)
    now += 5000
    assert.deepEqual(limiter.charge(100), { waitMs: 0, exceeded: false }, 'after a pause: no debt')
    // A flood at 10x the rate: the reader sleeps whatever it is told; after 2 s of that, exceeded.
    let exceededAt: number | undefined
    const floodStart = now
    for (let i = 0; i < 100_000 && exceededAt === undefined; i++) {
      now += 0.1
      const c = limiter.charge(100)
      if (c.exceeded) exceededAt = now
      else if (c.waitMs >= 10) now += c.waitMs
    }
    assert.ok(exceededAt !== undefined, 'a flood is dropped')
    assert.ok(exceededAt - floodStart >= 2000 && exceededAt - floodStart < 4000, `dropped after ${exceededAt - floodStart} ms`)
  })

  it('a frame larger than the byte bucket still passes (the bucket goes into debt)', () => {
    let now = 0
    const limiter = new PeerRateLimiter({ bytesPerSecond: 1000, burstSeconds: 1 }, 0, () => now)
    const c = limiter.charge(5000)
    assert.equal(c.exceeded, false)
    assert.equal(Math.round(c.waitMs), 4000)
    assert.throws(() => new PeerRateLimiter({ messagesPerSecond: 0 }), RangeError)
  })

  it('a frame that costs more than its size is charged as several messages', () => {
    const now = 0
    const limiter = new PeerRateLimiter({ messagesPerSecond: 100, burstSeconds: 1 }, 0, () => now)
    for (let i = 0; i < 25; i++) assert.equal(limiter.charge(100, 4).waitMs, 0)
    assert.equal(Math.round(limiter.charge(100, 4).waitMs), 40, '25 frames at 4 each emptied the 100-message bucket')
  })

  it('tryTake never puts a bucket into debt', () => {
    const b = new TokenBucket(1, 2, 0)
    assert.equal(b.tryTake(1, 0), true)
    assert.equal(b.tryTake(1, 0), true)
    assert.equal(b.tryTake(1, 0), false)
    assert.equal(b.tryTake(1, 500), false, 'half a token refilled')
    assert.equal(b.tryTake(1, 1000), true)
  })
})

describe('reliability: a peer that never reads is dropped, memory bounded', function () {
  this.timeout(120000)
  let a: TestPeer | undefined
  before(async () => {
    assertIsolated()
    await initAutomerge()
  })
  after(async () => {
    await a?.close()
  })

  it('the Repo keeps sending to a stalled peer: dropped at the write queue hard limit (E_QUEUE_FULL), other state intact', async () => {
    const HARD_LIMIT = 8 * MiB
    a = await makePeer({ adapter: { writer: { hardLimitBytes: HARD_LIMIT, highWaterMark: 1 * MiB } } })
    a.adapter.connect('peer-a' as PeerId, {})
    // The stalled peer: real endpoint, valid handshake, then it never reads again.
    const ep = await makeEndpoint()
    const conn = await ep.connect(parseDialTarget(a.ticket), alpnBytes(TONK_SYNC_ALPN))
    const bi = await conn.openBi()
    const hello = { type: 'hello', v: HANDSHAKE_VERSION, ...testHello({ bundleId: BUNDLE_A }), peerId: 'stalled', isEphemeral: true, instanceId: 'x1' }
    const context = sealContext(TONK_SYNC_ALPN, ep.id().toString(), a.id, 'dialer')
    await bi.send.writeAll(toNumberArray(encodeFrame(cbor.encode(seal(TEST_KEY, context, hello)))))
    await waitForEvent(a.adapter as any, 'peer-candidate', (e: any) => e.peerId === 'stalled', 10000)

    const closed = waitForEvent<[PeerClosedEvent]>(a.adapter.events as any, 'peer-closed', (e) => e.peerId === 'stalled', 60000)
    const heapBefore = process.memoryUsage()
    const rssBefore = heapBefore.rss / MiB
    let rssMax = rssBefore
    const data = new Uint8Array(256 * 1024)
    let sent = 0
    let done = false
    void closed.then(() => (done = true))
    // Like a Repo: sends without waiting, 256 KiB sync messages, until the adapter gives the peer up.
    const started = performance.now()
    while (!done && sent < 400) {
      const message = { type: 'sync', senderId: 'peer-a', targetId: 'stalled', documentId: '4Jpijjbxhxg5pj8xhb4cAmw9dxs1', data } as unknown as Message
      a.adapter.send(message)
      sent++
      rssMax = Math.max(rssMax, process.memoryUsage().rss / MiB)
      await sleep(5)
    }
    const [event] = await closed
    const ms = performance.now() - started
    assert.equal(event.code, 'E_QUEUE_FULL', event.reason)
    assert.ok(sent * data.length < 400 * data.length, 'dropped before the sender gave up')
    const growth = rssMax - rssBefore
    figure('hostile', `peer that never reads: dropped with ${event.code} after ${sent} × 256 KiB sent (${((sent * data.length) / MiB).toFixed(0)} MiB offered, queue limit ${HARD_LIMIT / MiB} MiB) in ${ms.toFixed(0)} ms; RSS growth ${growth.toFixed(0)} MiB`)
    assert.ok(growth < HARD_LIMIT / MiB + 64, `RSS grew ${growth.toFixed(0)} MiB`)
    assert.equal(a.adapter.peerInfos().some((p) => p.peerId === ('stalled' as PeerId) && p.state === 'connected'), false)
    count('hostile cases tried')
    count('hostile cases survived')
    try {
      conn.close(0n, [])
    } catch {}
    await ep.close()
  })
})
