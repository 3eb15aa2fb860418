// Property-based fuzzing (fast-check) of everything that reads bytes from a peer or a bundle: the frame
// decoder, CBOR message checks, the hello check, the whole handshake over a fake stream pair, the
// manifest validator and the zip loader, each fed mutations of valid input (and some pure noise).
// The properties: only the module's typed errors, no crash, no hang. Runs per property:
// TONK_FUZZ_RUNS (CI: 300; `npm run fuzz`: 20000, or `npm run fuzz -- --runs N`). A failure prints
// fast-check's seed and path: rerun with TONK_FUZZ_SEED=<seed> to reproduce.
import assert from 'node:assert/strict'
import { cbor } from '@automerge/automerge-repo/slim'
import fc from 'fast-check'
import { BUNDLE_ERROR_CODES, BundleError, loadBundle, packDirectory, validateManifest, type PackedManifest } from '../../src/core/bundle'
import { initAutomerge } from '../../src/core/util/automerge'
import { encodeFrame, FrameDecoder, FrameError } from '../../src/core/net/framing'
import { checkHello, performHandshake, seal, sealContext, type HelloMessage } from '../../src/core/net/handshake'
import { TONK_SYNC_ALPN } from '../../src/core/net/endpoint'
import { messageProblem } from '../../src/core/net/iroh-adapter'
import { FrameReader, type ChunkSource } from '../../src/core/net/stream-reader'
import { StreamWriter, type FrameSink } from '../../src/core/net/stream-writer'
import { cleanupTemp, writeSourceDir } from '../helpers/bundle-fixtures'
import { count, figure } from './summary'
import { helloMessage, TEST_KEY, THEM, US } from '../helpers/net-fixtures'

const RUNS = Number(process.env.TONK_FUZZ_RUNS ?? (process.env.TONK_RELIABILITY === 'ci' ? 300 : 2000))
const SEED = process.env.TONK_FUZZ_SEED ? Number(process.env.TONK_FUZZ_SEED) : undefined
const params = (runs = RUNS) => ({ numRuns: runs, ...(SEED !== undefined && { seed: SEED }) })
const REFUSAL_CODES = new Set(['E_REFUSED', 'E_BUNDLE_MISMATCH', 'E_NAMESPACE_MISMATCH', 'E_PROTOCOL_INCOMPATIBLE', 'E_NOT_ALLOWED', 'E_HANDSHAKE_MALFORMED', 'E_HANDSHAKE_TIMEOUT', 'E_CONNECTION_LOST'])

const hello = helloMessage

function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Byte-level mutations of a valid encoding: overwrite, truncate, cut, insert, flip bits. */
const byteMutation = fc.oneof(
  fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }).map(
    (edits) => (b: Uint8Array) => {
      const out = b.slice()
      for (const e of edits) if (out.length) out[e.at % out.length] = e.value
      return out
    },
  ),
  fc.nat().map((n) => (b: Uint8Array) => b.slice(0, b.length ? n % b.length : 0)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 })).map(([at, len]) => (b: Uint8Array) => {
    const i = b.length ? at % b.length : 0
    return new Uint8Array([...b.subarray(0, i), ...b.subarray(i + len)])
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([at, junk]) => (b: Uint8Array) => {
    const i = b.length ? at % b.length : 0
    return new Uint8Array([...b.subarray(0, i), ...junk, ...b.subarray(i)])
  }),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }).map((flips) => (b: Uint8Array) => {
    const out = b.slice()
    for (const [at, bit] of flips) if (out.length) out[at % out.length]! ^= 1 << bit
    return out
  }),
)

/** Splits bytes into chunks at the given cut sizes (the network decides chunk boundaries). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let i = 0
  for (let k = 0; i < bytes.length; k++) {
    const n = Math.max(1, cuts[k % cuts.length] ?? bytes.length)
    out.push(bytes.subarray(i, i + n))
    i += n
  }
  return out
}

/** A JSON value mutated at a random path: replaced by anything, deleted, or wrapped. */
function mutateJson(value: unknown, path: number[], replacement: unknown, op: number): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return op % 3 === 0 ? [value] : replacement
  const keys = Object.keys(value as object)
  if (keys.length === 0) return replacement
  const key = keys[path[0]! % keys.length]!
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) }
  if (path.length === 1 && op % 3 === 1) {
    if (Array.isArray(copy)) copy.splice(Number(key), 1)
    else delete copy[key]
    return copy
  }
  copy[key] = mutateJson(copy[key], path.slice(1), replacement, op)
  return copy
}
const jsonMutation = fc.tuple(fc.array(fc.nat(), { minLength: 0, maxLength: 5 }), fc.jsonValue(), fc.nat())

describe(`reliability: fuzzing (${RUNS} runs per property)`, function () {
  this.timeout(Math.max(120000, RUNS * 200))
  let total = 0
  let validZip: Uint8Array
  let validManifest: PackedManifest
  before(async () => {
    await initAutomerge()
    const packed = await packDirectory(writeSourceDir())
    validZip = packed.zip
    validManifest = packed.manifest
  })
  after(() => {
    cleanupTemp()
    figure('fuzz', `${total} cases over 7 properties (${RUNS} runs each; seed ${SEED ?? 'random'})`)
    count('fuzz cases run', total)
  })

  it('frame decoder: mutated frame streams in any chunking yield frames or a FrameError, never more than one frame buffered', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }),
        byteMutation,
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 512 }),
        (payloads, mutate, cuts, max) => {
          total++
          const valid = new Uint8Array(payloads.flatMap((p) => [...encodeFrame(p, 1 << 20)]))
          const decoder = new FrameDecoder({ maxFrameBytes: max })
          try {
            for (const chunk of chunked(mutate(valid), cuts)) {
              // The binding hands number[]; Uint8Array takes the other copy path.
              for (const f of decoder.push(cuts[0]! % 2 ? Array.from(chunk) : chunk)) assert.ok(f.length <= max)
              assert.ok(decoder.bufferedBytes <= max + 4, `${decoder.bufferedBytes} bytes buffered, limit ${max}`)
            }
            decoder.end()
          } catch (err) {
            assert.ok(err instanceof FrameError, String(err))
          }
        },
      ),
      params(),
    )
  })

  it('message check: CBOR decoding of mutated automerge-repo messages either throws or gives a value messageProblem judges without throwing', () => {
    const valid = cbor.encode({ type: 'sync', senderId: 'peer-a', targetId: 'peer-b', documentId: '4Jpijjbxhxg5pj8xhb4cAmw9dxs1', data: new Uint8Array([1, 2, 3]) })
    fc.assert(
      fc.property(fc.oneof(byteMutation.map((m) => m(valid)), fc.uint8Array({ maxLength: 200 })), (bytes) => {
        total++
        let decoded: unknown
        try {
          decoded = cbor.decode(bytes)
        } catch {
          return // the adapter drops the peer with E_MESSAGE_MALFORMED
        }
        const problem = messageProblem(decoded)
        assert.ok(problem === undefined || typeof problem === 'string')
      }),
      params(),
    )
  })

  it('checkHello: mutated hellos and arbitrary values give ok or a refusal code, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(jsonMutation.map(([path, repl, op]) => mutateJson(hello({ peerId: 'peer-b' }), path, repl, op)), fc.anything()), (remote) => {
        total++
        const r = checkHello(hello(), remote, US, THEM)
        if (!r.ok) {
          assert.ok(REFUSAL_CODES.has(r.code), r.code)
          assert.ok(r.reason.length < 1000 && r.remoteReason.length < 1000, 'reasons stay bounded')
        }
      }),
      params(),
    )
  })

  it('performHandshake over a fake stream pair: mutated sealed hellos (outside and inside the seal) resolve to ok or a Refusal, within the timeout', async () => {
    // THEM dials US: their frame is sealed for the dialer role; we answer as the acceptor.
    const context = sealContext(TONK_SYNC_ALPN, THEM, US, 'dialer')
    const helloBytes = cbor.encode(hello({ peerId: 'peer-b' }))
    await fc.assert(
      fc.asyncProperty(
        byteMutation,
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (mutate, inside, cuts, allow) => {
          total++
          // Inside: the plaintext is mutated and then sealed with the right key, so the checks behind
          // the seal see garbage from a peer that holds the key. Outside: the sealed frame is mutated.
          let incoming: Uint8Array
          if (inside) {
            let inner: unknown
            try {
              inner = cbor.decode(mutate(helloBytes.slice()))
            } catch {
              inner = { garbage: true }
            }
            incoming = encodeFrame(cbor.encode(seal(TEST_KEY, context, (typeof inner === 'object' && inner !== null ? inner : { v: inner }) as object)))
          } else {
            incoming = mutate(encodeFrame(cbor.encode(seal(TEST_KEY, context, hello({ peerId: 'peer-b' })))))
          }
          const chunks = chunked(incoming, cuts).map((c) => Array.from(c))
          const source: ChunkSource = { read: async () => chunks.shift() ?? [] }
          const written: number[][] = []
          const sink: FrameSink = { writeAll: async (b) => void written.push(b), finish: async () => {} }
          const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 })
          const started = performance.now()
          const result = await withinMs(
            performHandshake({
              reader: new FrameReader(source, decoder),
              writer: new StreamWriter(sink),
              local: hello(),
              localId: US,
              remoteId: THEM,
              role: 'acceptor',
              alpn: TONK_SYNC_ALPN,
              key: TEST_KEY,
              allowPeer: allow ? undefined : async () => false,
              timeoutMs: 300,
            }),
            2000,
            'performHandshake',
          )
          assert.ok(performance.now() - started < 1500)
          if (!result.ok) assert.ok(REFUSAL_CODES.has(result.refusal.code) || result.refusal.by === 'remote', result.refusal.code)
        },
      ),
      params(Math.min(RUNS, 1000)),
    )
  })

  it('validateManifest: mutated manifests give Issues with known codes, never a throw', () => {
    const codes = new Set<string>(BUNDLE_ERROR_CODES)
    fc.assert(
      fc.property(jsonMutation, fc.constantFrom('packed', 'source') as fc.Arbitrary<'packed' | 'source'>, ([path, repl, op], kind) => {
        total++
        const issues = validateManifest(mutateJson(validManifest, path, repl, op), { kind })
        for (const i of issues) assert.ok(codes.has(i.code), i.code)
      }),
      params(),
    )
  })

  it('loadBundle: mutated zips load or throw a BundleError, never another error, never hang', async () => {
    await fc.assert(
      fc.asyncProperty(byteMutation, async (mutate) => {
        total++
        try {
          await withinMs(loadBundle(mutate(validZip)), 5000, 'loadBundle')
        } catch (err) {
          assert.ok(err instanceof BundleError, `not a BundleError: ${(err as Error)?.stack ?? String(err)}`)
        }
      }),
      params(Math.min(RUNS, 2000)),
    )
  })

  it('loadBundle: a manifest mutated inside an otherwise valid zip gives a BundleError with a known code', async () => {
    const { unzipSync, zipSync, strToU8 } = await import('fflate')
    const entries = unzipSync(validZip)
    await fc.assert(
      fc.asyncProperty(jsonMutation, async ([path, repl, op]) => {
        total++
        const copy = { ...entries, 'tonk.json': strToU8(JSON.stringify(mutateJson(validManifest, path, repl, op))) }
        try {
          await withinMs(loadBundle(zipSync(copy)), 5000, 'loadBundle')
        } catch (err) {
          assert.ok(err instanceof BundleError, `not a BundleError: ${(err as Error)?.stack ?? String(err)}`)
        }
      }),
      params(Math.min(RUNS, 2000)),
    )
  })
})
