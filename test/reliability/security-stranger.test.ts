// Issue 12, item 1: a peer that does not hold the bundle learns nothing about it. A real `tonk-p2p serve`
// of my-world (which has an appKey) is dialed by strangers with the right ALPN: one sends a sealed hello
// under a key of its own, one sends garbage, one says nothing. Each must get a refusal code and nothing
// else: the raw bytes it received must not hold the bundleId (as hex or as bytes), the namespace, the
// app key, the peer's name or its storage id (learned by an insider run of the same target).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle, type LoadedBundle } from '../../src/core/bundle'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { hostileTarget, runHostile } from '../helpers/hostile-run'
import { PeerProcess } from '../helpers/peers'
import { count, figure } from './summary'

const PEER_NAME = 'alice-very-secret-laptop'

describe('security: a stranger learns nothing (sealed handshake, tonk/sync/2)', function () {
  this.timeout(180000)
  let dir: string
  let target: PeerProcess
  let bundle: LoadedBundle
  let secrets: Record<string, Buffer>

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-stranger-'))
    const zip = join(dir, 'b.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', zip])).code, 0)
    bundle = await loadBundle(zip)
    assert.ok(bundle.manifest.sync.appKey, 'the example has an app key')
    target = await PeerProcess.start({ bundle: zip, dataDir: join(dir, 'target'), name: PEER_NAME, args: ['--no-mdns', '--no-exchange'] })
    // An insider (holds the bundle) sees the target's hello: that is where its storage id comes from.
    const insider = await runHostile('bad-message', hostileTarget(target.ticket, bundle))
    const storageId = insider.result.remoteHello?.storageId as string | undefined
    assert.ok(storageId, `the insider completed the handshake: ${JSON.stringify(insider.result).slice(0, 300)}`)
    assert.equal(insider.result.remoteHello.peerName, PEER_NAME)
    secrets = {
      bundleId: Buffer.from(bundle.bundleId),
      'bundleId bytes': Buffer.from(bundle.bundleId, 'hex').subarray(0, 8),
      'bundleId prefix': Buffer.from(bundle.bundleId.slice(0, 8)),
      namespace: Buffer.from(bundle.manifest.sync.namespace),
      appKey: Buffer.from(bundle.manifest.sync.appKey!),
      'peer name': Buffer.from(PEER_NAME),
      'app name': Buffer.from(bundle.manifest.name),
      storageId: Buffer.from(storageId),
    }
  })

  after(async () => {
    await target?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const strangerCase = (mode: string, expected: RegExp) => async () => {
    const run = await runHostile(mode, { ticket: target.ticket, bundleId: 'x', namespace: 'x' }, ['seconds=12'])
    const received = Buffer.from(run.result.received as string, 'base64')
    for (const [what, bytes] of Object.entries(secrets)) {
      assert.equal(received.indexOf(bytes), -1, `the stranger received the ${what}`)
      assert.ok(!String(run.result.closeReason ?? '').includes(bytes.toString()), `the close reason holds the ${what}`)
    }
    assert.equal(run.result.remoteHello, undefined, 'the stranger could not open the hello')
    if (run.result.refusal) {
      assert.deepEqual(Object.keys(run.result.refusal).sort(), ['code', 'type'], `a bare refusal: ${JSON.stringify(run.result.refusal)}`)
      assert.match(run.result.refusal.code, expected)
    } else {
      assert.match(String(run.result.closeReason), expected)
    }
    const onTarget = await target.waitFor((e) => e.event === 'peer-refused' && e.endpointId === run.endpointId, 15000)
    assert.match(onTarget.code, expected)
    count('security cases')
    figure('security', `stranger (${mode}): received ${received.length} B, none of ${Object.keys(secrets).length} secrets; refused ${onTarget.code}; target logged "${onTarget.reason}"`)
  }

  it('a sealed hello under another key: E_REFUSED and only that', strangerCase('stranger', /^E_REFUSED$/))
  it('a hello that is not CBOR: a bare E_HANDSHAKE_MALFORMED', strangerCase('bad-hello', /^E_HANDSHAKE_MALFORMED$/))
  // A stream nobody writes to never reaches the target (QUIC opens it with the first byte): the target
  // closes the connection with "no stream" and logs the timeout.
  it('silence: closed after the handshake timeout, nothing said', strangerCase('silent', /E_HANDSHAKE_TIMEOUT|no stream/))
})
