// A .tonk adapted to the bundle a session serves: the root is its rootId, the capability derives from
// the rootId (copies of one file share it, other files do not), xVendor.xTonkP2p settings are checked,
// and every other document is carried for the first start's import.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { appCapability } from '../../src/core/bundle/capability'
import { loadTonkAsBundle, tonkAppKey } from '../../src/core/tonk/as-bundle'
import { loadTonk, tonkRelayUris, validateTonkFile, writeTonk } from '../../src/core/tonk'
import { initAutomerge } from '../../src/core/util/automerge'
import { FIXTURE_DIR } from '../helpers/tonk-fixtures'

await initAutomerge()

describe('.tonk as a session bundle', () => {
  const notes = readFileSync(join(FIXTURE_DIR, 'notes-app.tonk'))
  const legacy = readFileSync(join(FIXTURE_DIR, 'legacy-layout.tonk'))

  it('root = rootId; app key derived from it; every other document carried; name from the file', async () => {
    const b = await loadTonkAsBundle(join(FIXTURE_DIR, 'notes-app.tonk'))
    const t = await loadTonk(notes)
    assert.equal(b.manifest.sync.rootDocument.documentId, t.manifest.rootId)
    assert.equal(b.manifest.sync.appKey, tonkAppKey(t.manifest.rootId))
    assert.equal(b.tonk.documents.size, t.documents.size - 1)
    assert.ok(!b.tonk.documents.has(t.manifest.rootId))
    assert.equal(b.manifest.name, 'notes-app')
    assert.match(b.bundleId, /^[0-9a-f]{64}$/)
    assert.deepEqual(b.tonk.manifest.entrypoints, ['app'])
  })

  it('copies of one file share the capability; another file has its own', async () => {
    const [one, copy, other] = await Promise.all([loadTonkAsBundle(notes), loadTonkAsBundle(new Uint8Array(notes)), loadTonkAsBundle(legacy)])
    assert.equal(appCapability(one.manifest.sync).appId, appCapability(copy.manifest.sync).appId)
    assert.notEqual(appCapability(one.manifest.sync).appId, appCapability(other.manifest.sync).appId)
    assert.notEqual(one.manifest.sync.namespace, other.manifest.sync.namespace)
  })

  it('reads xVendor.xTonkP2p (name, namespace, allowedPeers, strictBuild) and refuses bad values with E_SCHEMA', async () => {
    const t = await loadTonk(notes)
    const withVendor = async (xTonkP2p: unknown) =>
      loadTonkAsBundle(await writeTonk({ manifest: { ...t.manifest, xVendor: { ...(t.manifest.xVendor ?? {}), xTonkP2p } }, documents: t.documents }))
    const b = await withVendor({ name: 'field-notes', namespace: 'field-notes-data', allowedPeers: ['a'.repeat(64)], strictBuild: true })
    assert.equal(b.manifest.name, 'field-notes')
    assert.equal(b.manifest.sync.namespace, 'field-notes-data')
    assert.deepEqual(b.manifest.sync.allowedPeers, ['a'.repeat(64)])
    assert.equal(b.manifest.sync.strictBuild, true)
    for (const bad of [{ name: 'Bad Name' }, { allowedPeers: ['nope'] }, { strictBuild: 'yes' }, { publisher: { publicKey: 'a'.repeat(64) } }, { discovery: { mdnsService: 'x' } }]) {
      await assert.rejects(withVendor(bad), (err: Error & { code?: string }) => err.code === 'E_SCHEMA', JSON.stringify(bad))
    }
    await assert.rejects(withVendor({ protocolVersion: '1.x' }), (err: Error & { code?: string; pointer?: string }) => err.code === 'E_SEMVER' && err.pointer === '/xVendor/xTonkP2p/protocolVersion')
    await assert.rejects(withVendor({ protocolVersion: '1.0.0', minCompatibleVersion: '2.0.0' }), (err: Error & { code?: string }) => err.code === 'E_VERSION_RANGE')
  })

  it("reads the rest of a bundle's sync section from xTonkP2p: protocol versions and discovery", async () => {
    const t = await loadTonk(notes)
    const peer = `endpoint${'a'.repeat(60)}`
    const b = await loadTonkAsBundle(
      await writeTonk({
        manifest: { ...t.manifest, xVendor: { xTonkP2p: { protocolVersion: '2.1.0', minCompatibleVersion: '2.0.0', discovery: { mdnsService: '_notes._udp', dhtKey: 'notes', bootstrapPeers: [peer] } } } },
        documents: t.documents,
      }),
    )
    assert.equal(b.manifest.sync.protocolVersion, '2.1.0')
    assert.equal(b.manifest.sync.minCompatibleVersion, '2.0.0')
    assert.deepEqual(b.manifest.sync.discovery, { mdnsService: '_notes._udp', dhtKey: 'notes', bootstrapPeers: [peer] })
    // validate reports the same problems, with pointers into manifest.json.
    const report = await validateTonkFile(await writeTonk({ manifest: { ...t.manifest, xVendor: { xTonkP2p: { namespace: 'Bad!', extra: 1 } } }, documents: t.documents }))
    assert.deepEqual(report.issues.filter((i) => i.severity === 'error').map((i) => i.pointer).sort(), ['/xVendor/xTonkP2p/extra', '/xVendor/xTonkP2p/namespace'])
  })

  it('a file that is not a valid .tonk is refused with its typed error, not adapted', async () => {
    await assert.rejects(loadTonkAsBundle(new Uint8Array([1, 2, 3])), (err: Error & { code?: string }) => typeof err.code === 'string' && err.code.startsWith('E_'))
  })
})

describe('tonkRelayUris: the relays a .tonk names, as bridge addresses', () => {
  it('keeps ws/wss, maps http(s) to ws(s), drops the rest, once each', () => {
    assert.deepEqual(
      tonkRelayUris({
        networkUris: ['wss://relay.example.com', 'http://localhost:8081', 'https://r.example/sync', 'ftp://x', 'not a url', 'ws://u:p@host/', 'wss://relay.example.com/', 'x'.repeat(3000)],
      }),
      ['wss://relay.example.com/', 'ws://localhost:8081/', 'wss://r.example/sync'],
    )
    assert.deepEqual(tonkRelayUris({}), [])
  })
})
