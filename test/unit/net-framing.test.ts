import assert from 'node:assert/strict'
import fc from 'fast-check'
import { FrameBudget } from '../../src/core/net/frame-budget'
import { encodeFrame, FrameDecoder, FrameError } from '../../src/core/net/framing'
import { FrameReader } from '../../src/core/net/stream-reader'

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

describe('net/framing', () => {
  it('encodes a u32 big-endian length prefix', () => {
    assert.deepEqual(Array.from(encodeFrame(new Uint8Array([9, 8, 7]))), [0, 0, 0, 3, 9, 8, 7])
    assert.deepEqual(Array.from(encodeFrame(new Uint8Array(0x010203)).subarray(0, 4)), [0, 1, 2, 3])
  })

  it('decodes frames split across chunks, byte by byte', () => {
    const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([4])]
    const wire = concat(frames.map((f) => encodeFrame(f)))
    const d = new FrameDecoder()
    const out: Uint8Array[] = []
    for (const b of wire) out.push(...d.push([b]))
    assert.deepEqual(out, frames)
    assert.equal(d.bufferedBytes, 0)
    d.end()
  })

  it('decodes several frames merged into one chunk, from Uint8Array or number[]', () => {
    const frames = [new Uint8Array([1]), new Uint8Array([2, 2]), new Uint8Array(300).fill(3)]
    const wire = concat(frames.map((f) => encodeFrame(f)))
    assert.deepEqual(new FrameDecoder().push(wire), frames)
    assert.deepEqual(new FrameDecoder().push(Array.from(wire)), frames)
  })

  it('rejects a too-large frame from its header alone, before buffering any payload', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1024 })
    assert.deepEqual(d.push([0, 0, 4]), [])
    assert.throws(
      () => d.push([1]),
      (e: unknown) => e instanceof FrameError && e.code === 'E_FRAME_TOO_LARGE' && /1025 bytes/.test(e.message),
    )
    // Stays failed: the stream is out of sync.
    assert.throws(() => d.push([0]), FrameError)
    // A 4 GiB claim costs nothing.
    const big = new FrameDecoder()
    assert.throws(() => big.push([0xff, 0xff, 0xff, 0xff]), { code: 'E_FRAME_TOO_LARGE' })
    assert.equal(big.bufferedBytes, 0)
  })

  it('refuses to encode a too-large frame', () => {
    assert.throws(() => encodeFrame(new Uint8Array(11), 10), { code: 'E_FRAME_TOO_LARGE' })
  })

  it('reports a stream that ends inside a frame as malformed', () => {
    const d = new FrameDecoder()
    d.push([0, 0, 0, 5, 1, 2])
    assert.throws(() => d.end(), { code: 'E_FRAME_MALFORMED' })
    const h = new FrameDecoder()
    h.push([0, 0])
    assert.throws(() => h.end(), { code: 'E_FRAME_MALFORMED' })
  })

  it('property: any chunking of any frames round-trips', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 30 }),
        (frames, cuts) => {
          const wire = concat(frames.map((f) => encodeFrame(f)))
          const d = new FrameDecoder({ maxFrameBytes: 600 })
          const out: Uint8Array[] = []
          let i = 0
          let c = 0
          while (i < wire.length) {
            const n = cuts[c++ % cuts.length]!
            const chunk = wire.subarray(i, i + n)
            out.push(...d.push(c % 2 ? chunk : Array.from(chunk)))
            i += n
          }
          d.end()
          assert.deepEqual(out, frames)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('property: random bytes only ever yield frames within the limit or a FrameError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }),
        fc.integer({ min: 0, max: 300 }),
        (chunks, max) => {
          const d = new FrameDecoder({ maxFrameBytes: max })
          try {
            for (const chunk of chunks) for (const f of d.push(chunk)) assert.ok(f.length <= max)
            d.end()
          } catch (e) {
            if (!(e instanceof FrameError)) throw e
          }
          assert.ok(d.bufferedBytes <= max + 4)
        },
      ),
      { numRuns: 1000 },
    )
  })
})

describe('net/framing clampFrameLimit', () => {
  it('keeps a sane limit, clamps 4 GiB and tiny values, defaults the rest', async () => {
    const { clampFrameLimit, DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_LIMIT_BYTES } = await import('../../src/core/net/framing')
    assert.equal(clampFrameLimit(1024 * 1024), 1024 * 1024)
    assert.equal(clampFrameLimit(4 * 1024 ** 3), MAX_FRAME_LIMIT_BYTES)
    assert.equal(clampFrameLimit(10), 1024)
    assert.equal(clampFrameLimit(4096), 4096)
    assert.equal(clampFrameLimit(undefined), DEFAULT_MAX_FRAME_BYTES)
    assert.equal(clampFrameLimit(Number.NaN), DEFAULT_MAX_FRAME_BYTES)
  })
})

describe('net/frame-budget: large partial frames share one budget', () => {
  const big = (n: number, fill: number) => encodeFrame(new Uint8Array(n).fill(fill), 1 << 20)
  /** A ChunkSource over fixed chunks, then end of stream. */
  const source = (chunks: Uint8Array[]) => ({ read: async () => Array.from(chunks.shift() ?? []) })

  it('a frame that does not fit waits (its reader pauses) until another completes; small frames never wait', async () => {
    const budget = new FrameBudget(300_000)
    const a = new FrameDecoder({ maxFrameBytes: 1 << 20, budget })
    const b = new FrameDecoder({ maxFrameBytes: 1 << 20, budget })
    const frameA = big(200_000, 1)
    const frameB = big(200_000, 2)
    assert.deepEqual(a.push(frameA.subarray(0, 1000)), [])
    assert.equal(budget.used, 200_000, 'a reserved its declared length')
    const readerB = new FrameReader(source([frameB, encodeFrame(new Uint8Array([7]))]), b, { budget })
    let gotB: Uint8Array | null | undefined
    const pending = readerB.next().then((f) => (gotB = f))
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(gotB, undefined, 'b waits for budget')
    assert.equal(b.waitingFor, 200_000)
    assert.equal(a.push(frameA.subarray(1000)).length, 1, 'a completes')
    await pending
    assert.equal(gotB!.length, 200_000)
    assert.deepEqual(Array.from((await readerB.next())!), [7], 'a small frame needs no budget')
    assert.equal(budget.used, 0, 'all given back')
  })

  it('closing a reader gives back its share and stops its wait; a failed decoder gives back too', async () => {
    const budget = new FrameBudget(300_000)
    const first = Array.from(big(250_000, 1).subarray(0, 5000))
    let reads = 0
    const stuck = { read: () => (reads++ === 0 ? Promise.resolve(first) : new Promise<number[]>(() => {})) }
    const holder = new FrameReader(stuck, new FrameDecoder({ maxFrameBytes: 1 << 20, budget }), { budget })
    const waiterDecoder = new FrameDecoder({ maxFrameBytes: 1 << 20, budget })
    const waiter = new FrameReader(source([big(250_000, 2)]), waiterDecoder, { budget })
    const holding = holder.next().catch((e) => e)
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(budget.used, 250_000)
    const waiting = waiter.next().catch((e) => e)
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(budget.waiting, 1)
    waiter.close()
    assert.equal((await waiting).code, 'E_FRAME_BUDGET')
    assert.equal(budget.waiting, 0)
    holder.close()
    assert.equal(budget.used, 0)
    void holding
    const failing = new FrameDecoder({ maxFrameBytes: 1 << 20, budget })
    failing.push(big(100_000, 3).subarray(0, 10))
    assert.equal(budget.used, 100_000)
    assert.throws(() => failing.end(), FrameError)
    assert.equal(budget.used, 0)
  })

  it('a holder that sends nothing more for stallMs is dropped (E_FRAME_STALLED)', async () => {
    const budget = new FrameBudget(1 << 20)
    let calls = 0
    const slow = { read: () => (calls++ === 0 ? Promise.resolve(Array.from(big(100_000, 1).subarray(0, 100))) : new Promise<number[]>(() => {})) }
    const reader = new FrameReader(slow, new FrameDecoder({ maxFrameBytes: 1 << 20, budget }), { budget, stallMs: 50 })
    const err = await reader.next().catch((e) => e)
    assert.ok(err instanceof FrameError && err.code === 'E_FRAME_STALLED', String(err))
  })
})
