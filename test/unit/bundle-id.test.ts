import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { BUNDLE_ID_DOMAIN, canonicalJson, computeBundleId, type PackedManifest } from '../../src/core/bundle'

const manifest = (): PackedManifest => ({
  manifestVersion: 1,
  name: 'my-world',
  version: '0.1.0',
  entrypoints: ['/index.html'],
  files: [
    { path: '/index.html', length: 2, contentType: 'text/html' },
    { path: '/é.txt', length: 1, contentType: 'text/plain' },
    { path: '/z.txt', length: 0, contentType: 'text/plain' },
  ],
  sync: {
    bundleId: 'f'.repeat(64),
    namespace: 'my-world',
    protocolVersion: '1.0.0',
    minCompatibleVersion: '1.0.0',
    discovery: { mdnsService: '_tonk-sync._udp', bootstrapPeers: [] },
    rootDocument: { documentId: 'abc', path: '/.tonk/root.automerge' },
  },
})
const files = () =>
  new Map<string, Uint8Array>([
    ['/z.txt', new Uint8Array([])],
    ['/index.html', new Uint8Array([60, 62])],
    ['/é.txt', new Uint8Array([7])],
  ])

/** The encoding exactly as docs/bundle-format.md writes it, built independently with Buffer.concat. */
function referenceBundleId(m: PackedManifest, fs: Map<string, Uint8Array>): string {
  const u64 = (n: number) => {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(BigInt(n))
    return b
  }
  const chunk = (b: Uint8Array) => Buffer.concat([u64(b.length), b])
  const copy = structuredClone(m) as any
  delete copy.sync.bundleId
  const paths = [...fs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const parts = [
    Buffer.from('tonk-bundle-id/v1\n'),
    chunk(Buffer.from(canonicalJson(copy))),
    u64(paths.length),
    ...paths.flatMap((p) => [chunk(Buffer.from(p)), chunk(fs.get(p)!)]),
  ]
  return createHash('sha256').update(Buffer.concat(parts)).digest('hex')
}

describe('canonicalJson', () => {
  it('sorts keys (UTF-16 order), drops whitespace and undefined, keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: [3, 1, { d: null, c: true }], e: undefined }), '{"a":[3,1,{"c":true,"d":null}],"b":1}')
    assert.equal(canonicalJson({ '\u00e9': 1, z: 2, Z: 3, '\ud83d\ude00': 4, '\uff61': 5 }), '{"Z":3,"z":2,"é":1,"😀":4,"｡":5}')
  })
  it('writes strings and numbers as ECMAScript JSON does (JCS)', () => {
    assert.equal(canonicalJson('a"\\\n\u0001é'), '"a\\"\\\\\\n\\u0001é"')
    assert.equal(canonicalJson([1e21, 0.1, -0, 100]), '[1e+21,0.1,0,100]')
    assert.throws(() => canonicalJson(NaN), TypeError)
    assert.throws(() => canonicalJson({ f: () => 1 }), TypeError)
  })
})

describe('computeBundleId', () => {
  it('follows the documented encoding (an independent reimplementation agrees)', () => {
    assert.equal(BUNDLE_ID_DOMAIN, 'tonk-bundle-id/v1\n')
    const id = computeBundleId(manifest(), files())
    assert.match(id, /^[0-9a-f]{64}$/)
    assert.equal(id, referenceBundleId(manifest(), files()))
  })

  it('ignores sync.bundleId itself, the key order of the manifest and the order of the file map', () => {
    const a = computeBundleId(manifest(), files())
    const m = manifest()
    m.sync.bundleId = '0'.repeat(64)
    const reordered = JSON.parse(JSON.stringify(m, Object.keys(m).reverse().concat(Object.keys(m.sync), 'mdnsService', 'bootstrapPeers', 'path', 'length', 'contentType', 'documentId')))
    assert.equal(computeBundleId(reordered, new Map([...files()].reverse())), a)
  })

  it('changes with any manifest field or any byte of any file, and with path/content boundaries', () => {
    const base = computeBundleId(manifest(), files())
    const edits: Array<(m: any, f: Map<string, Uint8Array>) => void> = [
      (m) => (m.version = '0.1.1'),
      (m) => (m.description = ''),
      (m) => (m.sync.discovery.bootstrapPeers = ['endpointabc']),
      (m) => (m.files[0].length = 3),
      (m) => m.entrypoints.push('/z.txt'),
      (_m, f) => f.set('/index.html', new Uint8Array([60, 63])),
      (_m, f) => f.set('/z.txt', new Uint8Array([0])),
      (_m, f) => f.delete('/z.txt'),
      (_m, f) => f.set('/new', new Uint8Array()),
    ]
    const ids = new Set([base])
    for (const edit of edits) {
      const m = manifest()
      const f = files()
      edit(m, f)
      ids.add(computeBundleId(m, f))
    }
    assert.equal(ids.size, edits.length + 1)
    // Moving a byte from a path into its content must not collide (length prefixes).
    const one = computeBundleId(manifest(), new Map([['/ab', new Uint8Array([99])]]))
    const two = computeBundleId(manifest(), new Map([['/a', new Uint8Array([98, 99])]]))
    assert.notEqual(one, two)
  })

  it('orders files by UTF-8 bytes, not UTF-16', () => {
    // U+FF61 sorts before U+1F600 in UTF-16 code units but after it in UTF-8 bytes.
    const f = new Map([['/\uff61', new Uint8Array([1])], ['/\ud83d\ude00', new Uint8Array([2])]])
    assert.equal(computeBundleId(manifest(), f), referenceBundleId(manifest(), f))
  })
})
