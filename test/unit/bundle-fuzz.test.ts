import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BundleError, loadBundle, packDirectory } from '../../src/core/bundle'
import { cleanupTemp, writeSourceDir } from '../helpers/bundle-fixtures'

/** Settles within ms or fails: a reader that stops calling back would otherwise end the process silently. */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

describe('loadBundle on mutated zips (property)', () => {
  let valid: Uint8Array
  before(async () => {
    valid = (await packDirectory(writeSourceDir())).zip
  })
  after(cleanupTemp)

  const mutation = fc.oneof(
    // overwrite a few bytes anywhere
    fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }).map(
      (edits) => (zip: Uint8Array) => {
        const out = zip.slice()
        for (const e of edits) out[e.at % out.length] = e.value
        return out
      },
    ),
    // truncate
    fc.nat().map((n) => (zip: Uint8Array) => zip.slice(0, n % zip.length)),
    // cut a slice out of the middle
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 })).map(([at, len]) => (zip: Uint8Array) => {
      const i = at % zip.length
      return new Uint8Array([...zip.subarray(0, i), ...zip.subarray(i + len)])
    }),
    // flip bits in the central directory and end record, where the structure lives
    fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }).map(
      (flips) => (zip: Uint8Array) => {
        const out = zip.slice()
        for (const [back, bit] of flips) out[Math.max(0, out.length - back)]! ^= 1 << bit
        return out
      },
    ),
  )

  it('either loads or throws a BundleError — never another error, never hangs (200 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (mutate) => {
        const zip = mutate(valid)
        try {
          const bundle = await withinMs(loadBundle(zip), 5000)
          assert.equal(typeof bundle.bundleId, 'string')
        } catch (error) {
          assert.ok(error instanceof BundleError, `not a BundleError: ${(error as Error)?.stack ?? String(error)}`)
        }
      }),
      { numRuns: 200 },
    )
  })
})
