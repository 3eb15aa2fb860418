import assert from 'node:assert/strict'
import { fromNumberArray } from '../../src/core/net/bytes'
import { encodeFrame, FrameDecoder } from '../../src/core/net/framing'
import { StreamWriter, type FrameSink } from '../../src/core/net/stream-writer'

/** A SendStream stand-in that, like the real one, would reorder concurrent writes: it fails the test instead. */
class FakeSink implements FrameSink {
  writes: number[][] = []
  finished = false
  inFlight = 0
  maxInFlight = 0
  delay: () => Promise<void> = () => new Promise((r) => setImmediate(r))
  failNext: Error | undefined
  async writeAll(buf: number[]): Promise<void> {
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      await this.delay()
      if (this.failNext) throw this.failNext
      this.writes.push(buf)
    } finally {
      this.inFlight--
    }
  }
  async finish(): Promise<void> {
    assert.equal(this.inFlight, 0, 'finish while a write is in flight')
    this.finished = true
  }
  frames(): Uint8Array[] {
    const d = new FrameDecoder()
    return this.writes.flatMap((w) => d.push(w))
  }
}

const frame = (i: number) => {
  const b = new Uint8Array(200)
  new DataView(b.buffer).setUint32(0, i)
  return b
}

describe('net/stream-writer', () => {
  it('keeps 20,000 frames in order when sent without awaiting, one write at a time, coalesced', async () => {
    const sink = new FakeSink()
    const w = new StreamWriter(sink, { batchBytes: 64 * 1024, highWaterMark: 1 << 30 })
    for (let i = 0; i < 20_000; i++) void w.send(frame(i))
    await w.close()
    assert.equal(sink.finished, true)
    assert.equal(sink.maxInFlight, 1)
    const got = sink.frames()
    assert.equal(got.length, 20_000)
    for (let i = 0; i < got.length; i++) assert.equal(new DataView(got[i]!.buffer).getUint32(0), i)
    // 204-byte frames in 64 KiB writes: ~321 per write.
    assert.ok(sink.writes.length < 100, `${sink.writes.length} writes`)
    assert.ok(sink.writes.every((x) => x.length <= 64 * 1024))
    assert.equal(w.bytesWritten, 20_000 * 204)
  })

  it('sends a frame larger than a batch alone and intact', async () => {
    const sink = new FakeSink()
    const w = new StreamWriter(sink, { batchBytes: 1024 })
    const big = new Uint8Array(5000).map((_, i) => i & 0xff)
    void w.send(new Uint8Array([1]))
    void w.send(big)
    void w.send(new Uint8Array([2]))
    await w.close()
    assert.deepEqual(sink.frames(), [new Uint8Array([1]), big, new Uint8Array([2])])
    assert.deepEqual(fromNumberArray(sink.writes.flat()), new Uint8Array([...encodeFrame(new Uint8Array([1])), ...encodeFrame(big), ...encodeFrame(new Uint8Array([2]))]))
  })

  it('applies backpressure: send() resolves only once the queue is under the high-water mark', async () => {
    const sink = new FakeSink()
    let release!: () => void
    sink.delay = () => new Promise((r) => (release = r))
    const w = new StreamWriter(sink, { batchBytes: 1000, highWaterMark: 2500 })
    const first = w.send(new Uint8Array(996)) // 1000 queued
    await first
    await w.send(new Uint8Array(996)) // 2000
    let resolved = false
    const third = w.send(new Uint8Array(996)).then(() => (resolved = true)) // 3000 > 2500
    await new Promise((r) => setImmediate(r))
    assert.equal(resolved, false)
    assert.equal(w.queuedBytes, 3000)
    release() // first write done -> 2000 queued
    await third
    assert.equal(resolved, true)
    release()
    await new Promise((r) => setImmediate(r))
    release()
    await w.close()
    assert.equal(sink.frames().length, 3)
  })

  it('refuses frames past the hard limit, too-large frames, and frames after close', async () => {
    const sink = new FakeSink()
    sink.delay = () => new Promise(() => {}) // never drains
    const w = new StreamWriter(sink, { maxFrameBytes: 100, hardLimitBytes: 250, highWaterMark: 50 })
    assert.equal(w.enqueue(new Uint8Array(100)), false)
    w.enqueue(new Uint8Array(100))
    assert.throws(() => w.enqueue(new Uint8Array(100)), { code: 'E_QUEUE_FULL' })
    assert.throws(() => w.enqueue(new Uint8Array(101)), { code: 'E_FRAME_TOO_LARGE' })
    const closed = new StreamWriter(new FakeSink())
    await closed.close()
    assert.throws(() => closed.enqueue(new Uint8Array(1)), { code: 'E_STREAM_CLOSED' })
    await assert.rejects(closed.send(new Uint8Array(1)), { code: 'E_STREAM_CLOSED' })
  })

  it('fails waiters and later sends when a write fails; close() still resolves', async () => {
    const sink = new FakeSink()
    sink.failNext = new Error('connection lost')
    const w = new StreamWriter(sink, { highWaterMark: 0 })
    await assert.rejects(w.send(new Uint8Array(10)), { code: 'E_STREAM_FAILED' })
    assert.throws(() => w.enqueue(new Uint8Array(1)), { code: 'E_STREAM_FAILED' })
    await w.close()
    assert.equal(sink.finished, false)
    assert.equal(w.error?.code, 'E_STREAM_FAILED')
  })
})
