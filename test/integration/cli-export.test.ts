// `tonk-p2p export`: a serving peer's VFS through its control socket, and the same data dir offline once it
// stopped, give the same .tonk bytes; the file loads with the written document, and `doc get` prints it.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadTonk } from '../../src/core/tonk'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess } from '../helpers/peers'

describe('tonk-p2p export', function () {
  this.timeout(90000)
  let dir: string
  let peer: PeerProcess | undefined

  before(() => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-export-'))
  })
  after(async () => {
    await peer?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('exports while serving and offline, equal bytes, with /notes/x in the root entries', async () => {
    const bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    peer = await PeerProcess.start({ bundle, dataDir: join(dir, 'a'), name: 'a' })
    const put = await peer.doc(['put', '/notes/x', JSON.stringify({ title: 'exported' })])
    assert.equal(put.code, 0, put.stderr)

    const live = join(dir, 'live.tonk')
    const r = await runCli(['export', '--data', join(dir, 'a'), '-o', live])
    assert.equal(r.code, 0, r.stderr)
    await peer.stop()
    peer = undefined
    const offline = join(dir, 'offline.tonk')
    const o = await runCli(['export', '--data', join(dir, 'a'), '-o', offline])
    assert.equal(o.code, 0, o.stderr)
    assert.ok(readFileSync(live).equals(readFileSync(offline)), 'equal state, equal bytes')

    const tonk = await loadTonk(live)
    const root = tonk.documents.get(tonk.manifest.rootId) as any
    assert.ok(root.entries['/notes/x'], 'root entries has /notes/x')
    assert.deepEqual(JSON.parse(new TextDecoder().decode(tonk.vfs.readFile('/notes/x')!.data)), { title: 'exported' })
    const inspect = await runCli(['inspect', live])
    assert.equal(inspect.code, 0, inspect.stderr)
    assert.match(inspect.stdout, /notes/)
  })

  it('exports a VFS bigger than a control line (16 MiB) from a running peer: the peer writes the file', async () => {
    const bundle = join(dir, 'my-world.zip')
    if (!existsSync(bundle)) assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    peer = await PeerProcess.start({ bundle, dataDir: join(dir, 'big'), name: 'big' })
    // Random bytes do not compress: two 10 MiB files make a .tonk of over 20 MiB.
    const files = [randomBytes(10 * 1024 * 1024), randomBytes(10 * 1024 * 1024)]
    for (const [i, bytes] of files.entries()) {
      writeFileSync(join(dir, `blob-${i}.bin`), bytes)
      const put = await peer.doc(['put', `/blobs/${i}.bin`, '--file', join(dir, `blob-${i}.bin`)], 60000)
      assert.equal(put.code, 0, put.stderr)
    }
    const out = join(dir, 'big.tonk')
    const r = await runCli(['--json', 'export', '--data', join(dir, 'big'), '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(statSync(out).size > 20 * 1024 * 1024, `${statSync(out).size} bytes`)
    assert.equal(JSON.parse(r.stdout).bytes, statSync(out).size)
    const tonk = await loadTonk(out)
    for (const [i, bytes] of files.entries()) assert.ok(Buffer.from(tonk.vfs.readFile(`/blobs/${i}.bin`)!.bytes!).equals(bytes), `blob ${i} round-trips`)
    await peer.stop()
    peer = undefined
  })
})
