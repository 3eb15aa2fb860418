import assert from 'node:assert/strict'
import { legacyRootDocumentId, rootDocumentId } from '../../src/core/vfs/root-document'
import { validateManifest, type Issue } from '../../src/core/bundle'

const packed = () => ({
  manifestVersion: 1,
  name: 'my-world',
  version: '0.1.0',
  entrypoints: ['/index.html'],
  files: [
    { path: '/.tonk/root.automerge', length: 10, contentType: 'application/octet-stream' },
    { path: '/index.html', length: 123, contentType: 'text/html' },
  ],
  sync: {
    bundleId: 'a'.repeat(64),
    namespace: 'my-world',
    protocolVersion: '1.0.0',
    minCompatibleVersion: '1.0.0',
    discovery: { mdnsService: '_tonk-sync._udp', bootstrapPeers: [] as string[] },
    rootDocument: { documentId: rootDocumentId('my-world') as string, path: '/.tonk/root.automerge' },
  },
})
type Packed = ReturnType<typeof packed>

function issuesOf(edit: (m: any) => void, kind: 'source' | 'packed' = 'packed'): Issue[] {
  const m: any = packed()
  edit(m)
  return validateManifest(m, { kind })
}
const codes = (issues: Issue[]) => issues.map((i) => i.code)

describe('validateManifest', () => {
  it('accepts a valid packed manifest, and a minimal source manifest', () => {
    assert.deepEqual(validateManifest(packed(), { kind: 'packed' }), [])
    const source: any = packed()
    delete source.files
    delete source.sync.bundleId
    delete source.sync.rootDocument
    delete source.sync.discovery.bootstrapPeers
    assert.deepEqual(validateManifest(source, { kind: 'source' }), [])
    assert.deepEqual(validateManifest({ ...source, $schema: '../schemas/tonk-manifest.schema.json' }, { kind: 'source' }), [])
  })

  it('packed requires files, bundleId, rootDocument and bootstrapPeers', () => {
    const issues = issuesOf((m) => {
      delete m.files
      delete m.sync.bundleId
      delete m.sync.rootDocument
      delete m.sync.discovery.bootstrapPeers
    })
    assert.deepEqual(
      issues.map((i) => `${i.code} ${i.pointer}`).sort(),
      ['E_SCHEMA /files', 'E_SCHEMA /sync/bundleId', 'E_SCHEMA /sync/discovery/bootstrapPeers', 'E_SCHEMA /sync/rootDocument'],
    )
    assert.match(issues[0]!.message, /missing required field "?files/)
  })

  it('maps schema errors to JSON pointers with readable messages', () => {
    const issues = issuesOf((m) => {
      m.name = 'My World'
      m.extra = true
      m.files[1].length = -1
      m.sync.discovery.mdnsService = 'tonk'
      m.sync.bundleId = 'XYZ'
    })
    const byPointer = Object.fromEntries(issues.map((i) => [i.pointer, i]))
    assert.equal(byPointer['/name']?.code, 'E_SCHEMA')
    assert.match(byPointer['/name']!.message, /^name: "My World" must be .*npm/)
    assert.match(byPointer['/extra']!.message, /unknown field extra/)
    assert.match(byPointer['/files/1/length']!.message, /files\[1\]\.length must be >= 0/)
    assert.match(byPointer['/sync/discovery/mdnsService']!.message, /_tonk-sync\._udp/)
    assert.match(byPointer['/sync/bundleId']!.message, /64 lowercase hex/)
    assert.ok(issues.every((i) => i.severity === 'error'))
  })

  it('refuses a name longer than 214 characters and a non-object', () => {
    assert.deepEqual(codes(issuesOf((m) => (m.name = 'a'.repeat(215)))), ['E_SCHEMA'])
    assert.deepEqual(codes(validateManifest([], { kind: 'packed' })), ['E_SCHEMA'])
    assert.deepEqual(codes(validateManifest(null, { kind: 'source' })), ['E_SCHEMA'])
  })

  it('reports an unknown manifestVersion alone, as E_MANIFEST_VERSION', () => {
    const issues = issuesOf((m) => {
      m.manifestVersion = 2
      m.whatever = 1
    })
    assert.deepEqual(codes(issues), ['E_MANIFEST_VERSION'])
    assert.match(issues[0]!.message, /manifestVersion 2 is not supported/)
  })

  it('E_SEMVER for versions that are not semver', () => {
    for (const bad of ['1.0', 'v1.0.0', '01.0.0', '1.0.0.0', '']) {
      const issues = issuesOf((m) => (m.version = bad))
      assert.deepEqual(codes(issues), ['E_SEMVER'], bad)
      assert.equal(issues[0]!.pointer, '/version')
    }
    assert.deepEqual(codes(issuesOf((m) => (m.sync.protocolVersion = 'one'))), ['E_SEMVER'])
    assert.deepEqual(codes(issuesOf((m) => (m.sync.minCompatibleVersion = '1'))), ['E_SEMVER'])
    assert.deepEqual(codes(issuesOf((m) => (m.version = '1.2.3-beta.1+build.5'))), [])
  })

  it('E_VERSION_RANGE when minCompatibleVersion > protocolVersion', () => {
    const issues = issuesOf((m) => (m.sync.minCompatibleVersion = '1.0.1'))
    assert.deepEqual(codes(issues), ['E_VERSION_RANGE'])
    assert.equal(issues[0]!.pointer, '/sync/minCompatibleVersion')
    assert.deepEqual(codes(issuesOf((m) => (m.sync.minCompatibleVersion = '1.0.0-rc.1'))), [])
  })

  it('E_PATH_INVALID for every path rule, at the path pointer', () => {
    const bad = ['index.html', '/a/../b', '/a//b', '/./a', '/a\\b', '/C:/x', '/a:b', '/a\u0000b', '/a\nb', '/dir/', '/tonk.json', '/..']
    for (const path of bad) {
      const issues = issuesOf((m) => (m.files[1].path = path)).filter((i) => i.code !== 'E_ENTRYPOINT_MISSING' && i.code !== 'E_CONTENT_TYPE')
      assert.deepEqual(codes(issues), ['E_PATH_INVALID'], JSON.stringify(path))
      assert.equal(issues[0]!.pointer, '/files/1/path')
      assert.equal(issues[0]!.path, path)
    }
    assert.deepEqual(codes(issuesOf((m) => (m.entrypoints = ['/../index.html']))), ['E_PATH_INVALID'])
    assert.deepEqual(codes(issuesOf((m) => (m.sync.rootDocument.path = 'root'))), ['E_PATH_INVALID'])
  })

  it('E_PATH_DUPLICATE for equal paths, also ignoring case and Unicode normalization', () => {
    const dup = (a: string, b: string) =>
      issuesOf((m) => {
        m.files.push({ path: a, length: 1, contentType: 'text/plain' }, { path: b, length: 1, contentType: 'text/plain' })
      })
    assert.deepEqual(codes(dup('/a.txt', '/a.txt')), ['E_PATH_DUPLICATE'])
    const ci = dup('/README.txt', '/readme.txt')
    assert.deepEqual(codes(ci), ['E_PATH_DUPLICATE'])
    assert.match(ci[0]!.message, /"\/readme.txt" collides with "\/README.txt"/)
    assert.deepEqual(codes(dup('/caf\u00e9.txt', '/cafe\u0301.txt')), ['E_PATH_DUPLICATE'])
  })

  it('E_ENTRYPOINT_MISSING when an entrypoint is not a listed file', () => {
    const issues = issuesOf((m) => m.entrypoints.push('/other.html'))
    assert.deepEqual(codes(issues), ['E_ENTRYPOINT_MISSING'])
    assert.equal(issues[0]!.pointer, '/entrypoints/1')
    assert.deepEqual(codes(issuesOf((m) => (m.entrypoints = []))), ['E_SCHEMA'])
  })

  it('E_CONTENT_TYPE when a listed contentType differs from what the extension implies', () => {
    const issues = issuesOf((m) => (m.files[1].contentType = 'text/plain'))
    assert.deepEqual(codes(issues), ['E_CONTENT_TYPE'])
    assert.match(issues[0]!.message, /"\/index.html": contentType is "text\/plain" but its extension implies "text\/html"/)
  })

  it('E_ROOT_DOCUMENT when the documentId is not the namespace\'s or its file is not listed', () => {
    const wrongId = issuesOf((m) => (m.sync.rootDocument.documentId = rootDocumentId('other')))
    assert.deepEqual(codes(wrongId), ['E_ROOT_DOCUMENT'])
    assert.equal(wrongId[0]!.pointer, '/sync/rootDocument/documentId')
    assert.deepEqual(codes(issuesOf((m) => (m.sync.namespace = 'other'))), ['E_ROOT_DOCUMENT'])
    assert.deepEqual(codes(issuesOf((m: Packed) => m.files.shift())), ['E_ROOT_DOCUMENT'])
    // A zip packed before the Tonk VFS model names the v1 root: refused with a hint to repack.
    const v1 = issuesOf((m) => (m.sync.rootDocument.documentId = legacyRootDocumentId('my-world')))
    assert.deepEqual(codes(v1), ['E_ROOT_DOCUMENT'])
    assert.match(v1[0]!.message, /before the Tonk VFS model .*pack the folder again/)
  })
})
