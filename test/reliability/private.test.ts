// Private and signed bundles. Allowlist: real `serve` processes; a peer whose endpoint id is not on
// the list (manifest sync.allowedPeers, or --allow-peer) is refused at the handshake on both sides,
// and peers on the list sync. Signature: pack --sign-key, then every way to forge it is refused.
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { strToU8, unzipSync, zipSync } from 'fflate'
import {
  BundleError,
  generatePublisherKey,
  loadBundle,
  packDirectory,
  publisherPublicKey,
  signBundleId,
  validateManifest,
  verifyBundleSignature,
} from '../../src/core/bundle'
import { Session } from '../../src/core/session/session'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess } from '../helpers/peers'
import { count, figure } from './summary'

const example = join(repoRoot, 'examples', 'my-world')

/** A data dir whose identity.key is `seed`: its endpoint id is the seed's ed25519 public key. */
function dataDirWithIdentity(dir: string, seed: Uint8Array): string {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'identity.key'), Buffer.from(seed).toString('hex') + '\n', { mode: 0o600 })
  return dir
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<BundleError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}`)
}

/** Rewrites tonk.json inside a zip (keeps every other entry). */
function withManifest(zip: Uint8Array, edit: (m: any) => void): Uint8Array {
  const entries = unzipSync(zip)
  const m = JSON.parse(new TextDecoder().decode(entries['tonk.json']!))
  edit(m)
  entries['tonk.json'] = strToU8(JSON.stringify(m, null, 2))
  return zipSync(entries)
}

describe('private bundles: allowlist of endpoint ids, refused at the handshake', function () {
  this.timeout(120000)
  let dir: string
  const peers: PeerProcess[] = []
  before(() => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-private-'))
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('manifest sync.allowedPeers: listed peers sync, an unlisted peer of the same bundle is refused (E_NOT_ALLOWED)', async () => {
    const [a, b, c] = [generatePublisherKey(), generatePublisherKey(), generatePublisherKey()]
    const src = join(dir, 'src')
    cpSync(example, src, { recursive: true })
    const manifest = JSON.parse(readFileSync(join(src, 'tonk.json'), 'utf8'))
    manifest.sync.allowedPeers = [a.publicKey, b.publicKey]
    writeFileSync(join(src, 'tonk.json'), JSON.stringify(manifest, null, 2))
    const bundle = join(dir, 'private.zip')
    const packed = await runCli(['pack', src, '-o', bundle])
    assert.equal(packed.code, 0, packed.stderr)

    const pa = await PeerProcess.start({ bundle, dataDir: dataDirWithIdentity(join(dir, 'a'), a.secretKey), name: 'a' })
    peers.push(pa)
    assert.equal(pa.endpointId, a.publicKey, 'an endpoint id is the ed25519 public key of identity.key')
    const pb = await PeerProcess.start({ bundle, dataDir: dataDirWithIdentity(join(dir, 'b'), b.secretKey), name: 'b', connect: [pa.ticket] })
    peers.push(pb)
    await pb.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === pa.endpointId, 20000)
    const put = await pa.doc(['put', '/private/hello', JSON.stringify({ from: 'a' })])
    assert.equal(put.code, 0, put.stderr)
    const started = performance.now()
    let got
    while (performance.now() - started < 10000) {
      got = await pb.doc(['get', '/private/hello'])
      if (got.code === 0) break
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.equal(got?.code, 0, 'b (listed) syncs with a')

    const pc = await PeerProcess.start({ bundle, dataDir: dataDirWithIdentity(join(dir, 'c'), c.secretKey), name: 'c', connect: [pa.ticket] })
    peers.push(pc)
    const onA = await pa.waitFor((e) => e.event === 'peer-refused' && e.endpointId === pc.endpointId, 20000)
    assert.equal(onA.code, 'E_NOT_ALLOWED')
    const onC = await pc.waitFor((e) => e.event === 'peer-refused' && e.endpointId === pa.endpointId, 20000)
    assert.equal(onC.code, 'E_NOT_ALLOWED')
    assert.ok(!pc.events.some((e) => e.event === 'peer-connected'), 'c never counted a as connected')
    assert.equal((await pc.doc(['get', '/private/hello'])).code === 0, false, 'c received nothing')
    figure('private', `allowlist (manifest): listed peer synced; unlisted peer refused on both sides: "${onC.reason}"`)
    count('private-bundle cases passed')
  })

  it('serve --allow-peer makes a public bundle private for this peer; a bad id is a clear error', async () => {
    const bundle = join(dir, 'public.zip')
    assert.equal((await runCli(['pack', example, '-o', bundle])).code, 0)
    const [a, b] = [generatePublisherKey(), generatePublisherKey()]
    const pa = await PeerProcess.start({
      bundle,
      dataDir: dataDirWithIdentity(join(dir, 'pa'), a.secretKey),
      name: 'pa',
      args: ['--allow-peer', b.publicKey],
    })
    peers.push(pa)
    const pb = await PeerProcess.start({ bundle, dataDir: dataDirWithIdentity(join(dir, 'pb'), b.secretKey), connect: [pa.ticket] })
    peers.push(pb)
    await pa.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === pb.endpointId, 20000)
    const stranger = await PeerProcess.start({ bundle, dataDir: join(dir, 'stranger'), connect: [pa.ticket] })
    peers.push(stranger)
    const refused = await stranger.waitFor((e) => e.event === 'peer-refused', 20000)
    assert.equal(refused.code, 'E_NOT_ALLOWED')

    const bad = await runCli(['--json', 'serve', bundle, '--data', join(dir, 'bad'), '--bind', '127.0.0.1:0', '--allow-peer', 'alice'])
    assert.equal(bad.code, 1)
    assert.match(bad.stdout + bad.stderr, /not an endpoint id/)
    count('private-bundle cases passed')
  })
})

describe('signed bundles: publisher signature verified before load', function () {
  this.timeout(60000)
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tonk-signed-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('keygen + pack --sign-key produce a bundle that loads, and --require-publisher accepts only that key', async () => {
    const keyFile = join(dir, 'publisher.key')
    const kg = await runCli(['--json', 'keygen', '-o', keyFile])
    assert.equal(kg.code, 0, kg.stderr)
    const { publicKey } = JSON.parse(kg.stdout)
    assert.match(publicKey, /^[0-9a-f]{64}$/)
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file is private')
    assert.equal((await runCli(['keygen', '-o', keyFile])).code, 1, 'keygen never overwrites a key')
    const bundle = join(dir, 'signed.zip')
    const packed = await runCli(['--json', 'pack', example, '-o', bundle, '--sign-key', keyFile])
    assert.equal(packed.code, 0, packed.stderr)
    assert.equal(JSON.parse(packed.stdout).publisher, publicKey)
    const loaded = await loadBundle(bundle, {}, { requirePublisher: publicKey })
    assert.equal(loaded.manifest.sync.publisher?.publicKey, publicKey)
    await refusedWith(loadBundle(bundle, {}, { requirePublisher: generatePublisherKey().publicKey }), 'E_SIGNATURE')
    const unsigned = (await packDirectory(example)).zip
    await refusedWith(loadBundle(unsigned, {}, { requirePublisher: publicKey }), 'E_SIGNATURE')
    writeFileSync(join(dir, 'unsigned.zip'), unsigned)
    await refusedWith(Session.open(join(dir, 'unsigned.zip'), { dataDir: join(dir, 'x'), requirePublisher: publicKey }), 'E_SIGNATURE')
    const serve = await runCli(['serve', join(dir, 'unsigned.zip'), '--data', join(dir, 'y'), '--bind', '127.0.0.1:0', '--require-publisher', publicKey])
    assert.equal(serve.code, 1)
    assert.match(serve.stderr, /E_SIGNATURE/)
    count('private-bundle cases passed')
  })

  it('forgeries are refused: tampered signature, swapped key, re-signed by another key, signature moved to another bundle', async () => {
    const key = generatePublisherKey()
    const signed = (await packDirectory(example, { signKey: key.secretKey })).zip
    const other = generatePublisherKey()
    const cases: Array<[string, Uint8Array]> = [
      ['one bit of the signature flipped', withManifest(signed, (m) => {
        const s = m.sync.publisher.signature as string
        m.sync.publisher.signature = (s[0] === '0' ? '1' : '0') + s.slice(1)
      })],
      ['public key swapped (bundleId then mismatches)', withManifest(signed, (m) => (m.sync.publisher.publicKey = other.publicKey))],
      ['key swapped and bundleId recomputed, old signature kept', await (async () => {
        const src = join(dir, 'swap')
        cpSync(example, src, { recursive: true })
        const re = (await packDirectory(src, { signKey: other.secretKey })).zip
        const original = JSON.parse(new TextDecoder().decode(unzipSync(signed)['tonk.json']!))
        return withManifest(re, (m) => (m.sync.publisher.signature = original.sync.publisher.signature))
      })()],
      ['signature not hex', withManifest(signed, (m) => (m.sync.publisher.signature = 'zz'.repeat(64)))],
    ]
    for (const [what, zip] of cases) {
      const err = await loadBundle(zip).then(
        () => undefined,
        (e) => e,
      )
      assert.ok(err instanceof BundleError, `${what}: loaded`)
      assert.ok(['E_SIGNATURE', 'E_BUNDLE_ID_MISMATCH', 'E_SCHEMA'].includes(err.code), `${what}: ${err.code} ${err.message}`)
    }
    // The primitives: the domain separator binds a signature to bundle ids only.
    const id = 'ab'.repeat(32)
    const sig = signBundleId(key.secretKey, id)
    assert.equal(verifyBundleSignature(key.publicKey, id, sig), true)
    assert.equal(verifyBundleSignature(key.publicKey, 'cd'.repeat(32), sig), false)
    assert.equal(verifyBundleSignature(other.publicKey, id, sig), false)
    assert.equal(verifyBundleSignature('00'.repeat(32), id, sig), false, 'not a curve point: false, no throw')
    assert.equal(publisherPublicKey(key.secretKey), key.publicKey)
    figure('private', `signature: ${cases.length} forgeries refused, require-publisher enforced by loadBundle, Session and serve`)
    count('private-bundle cases passed')
  })

  it('the schema: allowedPeers entries are endpoint ids, unique; publisher fields are hex of the right length', async () => {
    const { manifest } = await packDirectory(example)
    const check = (sync: object) => validateManifest({ ...manifest, sync: { ...manifest.sync, ...sync } }, { kind: 'packed' }).map((i) => i.code)
    assert.deepEqual(check({ allowedPeers: ['ab'.repeat(32)] }), [])
    assert.ok(check({ allowedPeers: ['alice'] }).includes('E_SCHEMA'))
    assert.ok(check({ allowedPeers: ['AB'.repeat(32)] }).includes('E_SCHEMA'), 'lowercase only: ids compare as strings')
    assert.ok(check({ allowedPeers: ['ab'.repeat(32), 'ab'.repeat(32)] }).includes('E_SCHEMA'))
    assert.ok(check({ publisher: { publicKey: 'ab'.repeat(32) } }).includes('E_SCHEMA'), 'a packed publisher carries its signature')
    assert.ok(check({ publisher: { publicKey: 'ab'.repeat(32), signature: 'cd'.repeat(32) } }).includes('E_SCHEMA'))
    count('private-bundle cases passed')
  })

  it('pack refuses a folder that names a publisher without the key, or with another key', async () => {
    const key = generatePublisherKey()
    const src = join(dir, 'named')
    cpSync(example, src, { recursive: true })
    const manifest = JSON.parse(readFileSync(join(src, 'tonk.json'), 'utf8'))
    manifest.sync.publisher = { publicKey: key.publicKey }
    writeFileSync(join(src, 'tonk.json'), JSON.stringify(manifest, null, 2))
    await refusedWith(packDirectory(src), 'E_SIGNATURE')
    await refusedWith(packDirectory(src, { signKey: generatePublisherKey().secretKey }), 'E_SIGNATURE')
    const ok = await packDirectory(src, { signKey: key.secretKey })
    assert.equal(ok.manifest.sync.publisher?.publicKey, key.publicKey)
    count('private-bundle cases passed')
  })
})
