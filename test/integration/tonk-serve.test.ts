// A .tonk served peer to peer (issue 15): `tonk-p2p serve FILE.tonk` on separate hosts (network
// namespaces on one bridge), found by mDNS alone. Copies of one file (same rootId) find each other and
// sync; a `doc put /notes/x` on one is read on the other; `export` on the second writes a .tonk whose
// root `entries` has /notes/x, whose DocNode holds the value and whose manifest keeps the original
// entrypoints, and which inspects to the same tree when opened again. A peer serving another .tonk
// (another rootId) never syncs with them. Runs on our generated fixture (always) and on a real sample
// from tonk-labs/tonk when a copy is at hand (test/fixtures/tonk/PROVENANCE.md).
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { runCli } from '../helpers/cli'
import { pollDoc, waitForMesh } from '../helpers/discovery-mesh'
import { TestNetwork } from '../helpers/netns'
import { PeerProcess } from '../helpers/peers'
import { FIXTURE_DIR, REAL_SAMPLES, realSample } from '../helpers/tonk-fixtures'
import { loadTonk } from '../../src/core/tonk'
import { initAutomerge } from '../../src/core/util/automerge'

describe('.tonk files served peer to peer (serve FILE.tonk, export)', function () {
  this.timeout(120000)
  let net: TestNetwork
  let dir: string
  const peers: PeerProcess[] = []
  const start = async (name: string, host: number, file: string) => {
    const p = await PeerProcess.start({ bundle: file, dataDir: join(dir, name), host: net.hosts[host]!, name, args: ['--no-exchange'] })
    peers.push(p)
    return p
  }

  before(async function () {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      this.skip()
    }
    await initAutomerge()
    net = new TestNetwork(3)
    dir = mkdtempSync(join(tmpdir(), 'tonk-serve-'))
  })
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()))
  })
  after(() => {
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  async function twoHostsShareOneTonk(label: string, bytes: Uint8Array): Promise<void> {
    // Two copies of one file, as two people would have them.
    const [fileA, fileB] = [join(dir, `${label}-a.tonk`), join(dir, `${label}-b.tonk`)]
    writeFileSync(fileA, bytes)
    copyFileSync(fileA, fileB)
    const original = await loadTonk(bytes)
    const a = await start(`${label}-a`, 0, fileA)
    const b = await start(`${label}-b`, 1, fileB)
    const mesh = await waitForMesh([a, b])
    assert.equal(mesh[0]!.source, 'mdns', 'found by mDNS alone')

    const ls = await b.doc(['ls', '/'])
    assert.equal(ls.code, 0, ls.stderr)
    for (const top of new Set([...original.vfs.files().map((f) => f.path.split('/')[1])])) {
      assert.ok(ls.stdout.includes(top!), `the file's /${top} is listed on b: ${ls.stdout}`)
    }
    const put = await a.doc(['put', '/notes/x', JSON.stringify({ from: 'a', n: 42 })])
    assert.equal(put.code, 0, put.stderr)
    const seen = await pollDoc(b, '/notes/x', (v) => v?.from === 'a', 15000)
    assert.ok(seen !== undefined, 'b never read /notes/x')

    // A new page of the app from a file (`doc put --file`): the other host reads its bytes as text.
    const page = join(dir, `${label}-page.html`)
    writeFileSync(page, `<!doctype html><h1>${label} v2</h1>\n`)
    const putFile = await a.doc(['put', '/app/v2.html', '--file', page])
    assert.equal(putFile.code, 0, putFile.stderr)
    let text = ''
    for (const deadline = Date.now() + 15000; Date.now() < deadline && !text.includes(`${label} v2`); await new Promise((r) => setTimeout(r, 200))) {
      text = (await b.doc(['get', '/app/v2.html', '--raw'])).stdout
    }
    assert.ok(text.includes(`<h1>${label} v2</h1>`), `b reads the page a put: ${text.slice(0, 200)}`)

    const out = join(dir, `${label}-export.tonk`)
    const exported = await runCli(['export', '--data', b.options.dataDir, '-o', out])
    assert.equal(exported.code, 0, exported.stderr)
    const back = await loadTonk(readFileSync(out))
    assert.equal(back.manifest.rootId, original.manifest.rootId, 'export keeps rootId')
    assert.deepEqual(back.manifest.entrypoints, original.manifest.entrypoints, 'and the entrypoints of the file')
    assert.deepEqual(back.manifest.xVendor ?? null, original.manifest.xVendor ?? null, 'and its vendor metadata')
    const root = back.documents.get(back.manifest.rootId) as { entries?: Record<string, { doc_id?: unknown }> }
    assert.ok(root.entries?.['/notes/x'], `root entries: ${Object.keys(root.entries ?? {}).join(', ')}`)
    const node = back.documents.get(String(root.entries!['/notes/x']!.doc_id)) as { content?: { from?: string; n?: number } }
    assert.deepEqual({ from: node.content?.from, n: node.content?.n }, { from: 'a', n: 42 })
    // Opened again, the export shows the same tree (the file's files and the new note).
    const paths = (f: Awaited<ReturnType<typeof loadTonk>>) => f.vfs.files().map((x) => x.path).sort()
    assert.deepEqual(paths(back), [...paths(original), '/app/v2.html', '/notes/x'].sort())
    const inspected = await runCli(['--json', 'inspect', out])
    assert.equal(inspected.code, 0, inspected.stderr)
  }

  it('our generated .tonk: two hosts found by mDNS alone sync, export keeps the file and adds the note', async () => {
    await twoHostsShareOneTonk('notes', readFileSync(join(FIXTURE_DIR, 'notes-app.tonk')))
  })

  it("a real sample from tonk-labs/tonk (desktonk's app.tonk) does the same", async function () {
    const bytes = realSample(REAL_SAMPLES.find((s) => s.file === 'desktonk-app.tonk')!)
    if (!bytes) this.skip()
    await twoHostsShareOneTonk('desktonk', bytes!)
  })

  it('a peer serving another .tonk (another rootId) on the same LAN never syncs with it', async () => {
    const notes = join(dir, 'other-notes.tonk')
    copyFileSync(join(FIXTURE_DIR, 'notes-app.tonk'), notes)
    const legacy = join(dir, 'other-legacy.tonk')
    copyFileSync(join(FIXTURE_DIR, 'legacy-layout.tonk'), legacy)
    const a = await start('other-a', 0, notes)
    const c = await start('other-c', 2, legacy)
    await new Promise((r) => setTimeout(r, 3000))
    assert.ok(!a.events.some((e) => e.event === 'peer-connected' && e.peer.endpointId === c.endpointId), 'a connected to the peer of another .tonk')
    assert.ok(!c.events.some((e) => e.event === 'peer-connected'), 'c connected to someone')
  })
})
