import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeFrame, FrameDecoder, FrameError } from '../../src/core/net/framing'

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
