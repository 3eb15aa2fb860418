// The .tonk reader, writer and VFS reader on well-formed files: our own, Tonk's shapes written by hand,
// and (when a copy is at hand) the real samples from tonk-labs/tonk.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Automerge } from '@automerge/automerge-repo/slim'
import { unzipSync } from 'fflate'
import { initAutomerge } from '../../src/core/util/automerge'
import { buildTonkVfs, loadTonk, snapshotEntryName, validateTonkFile, writeTonk, type LoadedTonk } from '../../src/core/tonk'
import {
  COMMITTED_FIXTURES,
  FIXTURE_DIR,
  handMadeTonk,
  LEGACY_FILES,
  makeNotesApp,
  NOTES_APP_FILES,
  notesAppManifest,
  REAL_SAMPLES,
  realSample,
  realSamplesDir,
} from '../helpers/tonk-fixtures'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const saved = (doc: Automerge.Doc<unknown>) => Buffer.from(Automerge.save(doc)).toString('hex')
const tree = (tonk: LoadedTonk) => tonk.vfs.nodes.map((n) => `${n.type === 'directory' ? 'd' : 'f'} ${n.path}${n.size === undefined ? '' : ` ${n.size} ${n.mime}`}`)

describe('.tonk format: reader, writer and VFS', function () {
  this.timeout(30000)
  before(() => initAutomerge())

  describe('writer → reader round trip', () => {
    it('reads back the documents written, each one equal to its source', async () => {
      const { rootId, documents } = await buildTonkVfs(NOTES_APP_FILES, { seed: 'round-trip', time: 1 })
      const bytes = await writeTonk({ manifest: notesAppManifest(rootId), documents })
      const tonk = await loadTonk(bytes)
      assert.equal(tonk.manifest.rootId, rootId)
      assert.deepEqual([...tonk.documents.keys()].sort(), [...documents.keys()].sort())
      for (const [id, doc] of documents) assert.equal(saved(tonk.documents.get(id)!), saved(doc), `document ${id}`)
      assert.deepEqual(tonk.warnings, [])
    })

    it('lays the zip out as Tonk does: manifest.json first, one storage/<2>/<rest>/snapshot/bundle_export per document', async () => {
      const bytes = await makeNotesApp()
      const tonk = await loadTonk(bytes)
      const names = Object.keys(unzipSync(bytes))
      assert.equal(names[0], 'manifest.json')
      assert.deepEqual(names.slice(1).sort(), [...tonk.documents.keys()].map(snapshotEntryName).sort())
      assert.match(names[1]!, /^storage\/[1-9A-HJ-NP-Za-km-z]{2}\/[1-9A-HJ-NP-Za-km-z]+\/snapshot\/bundle_export$/)
      const manifest = JSON.parse(text(unzipSync(bytes)['manifest.json']!))
      assert.deepEqual(Object.keys(manifest), ['manifestVersion', 'version', 'rootId', 'entrypoints', 'networkUris', 'xNotes', 'xVendor'])
      assert.deepEqual(manifest.networkUris, [], "Tonk's reader requires networkUris, so it is always written")
    })

    it('reads files back as their bytes, JSON content and text, with sizes and mime types', async () => {
      const tonk = await loadTonk(await makeNotesApp())
      assert.deepEqual(tree(tonk), [
        'd /app',
        'd /app/assets',
        'f /app/assets/logo.png 16 image/png',
        'f /app/index.html 83 text/html',
        'f /app/main.js 25 text/javascript',
        'd /notes',
        'f /notes/todo.txt 17 text/plain',
        'f /notes/welcome.json 82 application/json',
      ])
      const page = tonk.vfs.readFile('/app/index.html')!
      assert.equal(text(page.bytes!), text(NOTES_APP_FILES[0]!.bytes!))
      assert.deepEqual(page.content, { mime: 'text/html' })
      assert.deepEqual(tonk.vfs.readFile('/notes/welcome.json')!.content, { title: 'Welcome', tags: ['tonk', 'p2p'], pinned: true })
      assert.equal(tonk.vfs.readFile('/notes/todo.txt')!.content, 'water the plants\n', 'the {value} wrapper is removed, as Tonk does')
      assert.equal(text(tonk.vfs.readFile('/notes/todo.txt')!.data), 'water the plants\n')
      assert.equal(tonk.vfs.readFile('/notes'), undefined, 'a directory is not a file')
      assert.deepEqual(tonk.vfs.list('/').map((n) => n.path), ['/app', '/notes'])
      assert.deepEqual(tonk.vfs.list('/app').map((n) => n.path), ['/app/assets', '/app/index.html', '/app/main.js'])
    })

    it('resolves entrypoints the way Tonk apps name them ("app", "/app/", a file path)', async () => {
      const { vfs } = await loadTonk(await makeNotesApp())
      assert.equal(vfs.resolveEntrypoint('app'), '/app/index.html')
      assert.equal(vfs.resolveEntrypoint('/app/'), '/app/index.html')
      assert.equal(vfs.resolveEntrypoint('/app/main.js'), '/app/main.js')
      assert.equal(vfs.resolveEntrypoint('notes'), undefined, 'a folder without index.html')
      assert.equal(vfs.resolveEntrypoint('/nope'), undefined)
    })
  })

  describe('determinism', () => {
    it('writes identical bytes for equal state, whatever the order documents are given in', async () => {
      const { rootId, documents } = await buildTonkVfs(NOTES_APP_FILES, { seed: 'det', time: 5 })
      const a = await writeTonk({ manifest: notesAppManifest(rootId), documents })
      const reversed = new Map([...documents].reverse())
      const b = await writeTonk({ manifest: notesAppManifest(rootId), documents: reversed })
      const asBytes = new Map([...documents].map(([id, doc]) => [id, Automerge.save(doc)]))
      const c = await writeTonk({ manifest: notesAppManifest(rootId), documents: asBytes })
      assert.deepEqual(Buffer.from(b), Buffer.from(a))
      assert.deepEqual(Buffer.from(c), Buffer.from(a))
    })

    it('writes identical bytes for one document merged from the same changes in either order', async () => {
      const { rootId, documents } = await buildTonkVfs(NOTES_APP_FILES, { seed: 'merge', time: 5 })
      const id = [...documents.keys()].find((k) => k !== rootId)!
      const base = documents.get(id)!
      const left = Automerge.change(Automerge.clone(base, { actor: 'aa'.repeat(16) }), { time: 9 }, (d: any) => (d.left = 1))
      const right = Automerge.change(Automerge.clone(base, { actor: 'bb'.repeat(16) }), { time: 9 }, (d: any) => (d.right = 2))
      const write = (doc: Automerge.Doc<unknown>) => writeTonk({ manifest: notesAppManifest(rootId), documents: new Map([...documents, [id, doc]]) })
      const one = await write(Automerge.merge(Automerge.clone(left), right))
      const two = await write(Automerge.merge(Automerge.clone(right), left))
      assert.deepEqual(Buffer.from(two), Buffer.from(one))
      const before = await write(base)
      assert.notDeepEqual(Buffer.from(one), Buffer.from(before), 'a different state gives different bytes')
    })

    it('keeps vendor metadata but not its key order out of the bytes', async () => {
      const { rootId, documents } = await buildTonkVfs(NOTES_APP_FILES, { seed: 'vendor', time: 5 })
      const m = notesAppManifest(rootId)
      const a = await writeTonk({ manifest: { ...m, xVendor: { xA: { b: 1, a: 2 }, xB: true } }, documents })
      const b = await writeTonk({ manifest: { ...m, xVendor: { xB: true, xA: { a: 2, b: 1 } } }, documents })
      assert.deepEqual(Buffer.from(b), Buffer.from(a))
      assert.deepEqual((await loadTonk(a)).manifest.xVendor, { xA: { a: 2, b: 1 }, xB: true })
    })

    for (const name of Object.keys(COMMITTED_FIXTURES)) {
      it(`regenerates the committed fixture ${name} byte for byte`, async () => {
        const committed = readFileSync(join(FIXTURE_DIR, name))
        const regenerated = await COMMITTED_FIXTURES[name]!()
        assert.equal(Buffer.compare(Buffer.from(regenerated), committed), 0, `run: npx tsx scripts/make-tonk-fixtures.ts (then review the diff)`)
      })
    }
  })

  describe("Tonk's shapes written by hand (not through src/core/tonk)", () => {
    it('reads the current layout: PathIndex entries, DirNode children, DocNode content and bytes', async () => {
      const files = [
        { path: '/app/index.html', bytes: new TextEncoder().encode('<h1>hi</h1>'), mime: 'text/html' },
        { path: '/data/state.json', content: { count: 2, items: ['a', 'b'] } },
        { path: '/data/nested/deep.txt', content: { value: 'deep text' } },
      ]
      const { rootId, documents, ids } = await handMadeTonk(files, { layout: 'entries' })
      const tonk = await loadTonk(await writeTonk({ manifest: notesAppManifest(rootId), documents }))
      assert.equal(tonk.vfs.layout, 'entries')
      assert.deepEqual(tree(tonk), [
        'd /app',
        'f /app/index.html 11 text/html',
        'd /data',
        'd /data/nested',
        'f /data/nested/deep.txt 9 text/plain',
        'f /data/state.json 52 application/json',
      ])
      assert.equal(tonk.vfs.get('/data/state.json')!.documentId, ids.get('/data/state.json'))
      assert.deepEqual(tonk.vfs.readFile('/data/state.json')!.content, { count: 2, items: ['a', 'b'] })
      assert.equal(tonk.vfs.readFile('/data/nested/deep.txt')!.content, 'deep text')
      assert.deepEqual(tonk.warnings, [], 'the DirNode children agree with the index')
    })

    it('reads the older layout: path_index as a JSON string, content as a JSON string', async () => {
      const { rootId, documents } = await handMadeTonk(LEGACY_FILES, { layout: 'path_index-json' })
      const tonk = await loadTonk(await writeTonk({ manifest: notesAppManifest(rootId), documents }))
      assert.equal(tonk.vfs.layout, 'path_index-json')
      assert.deepEqual(tree(tonk), [
        'd /app',
        'f /app/index.html 36 text/html',
        'f /app/style.css 18 text/css',
        'd /state',
        'f /state/counter.json 17 application/json',
      ])
      assert.deepEqual(tonk.vfs.readFile('/state/counter.json')!.content, { count: 3 })
    })

    it('warns, and trusts the index as Tonk does, when a DirNode children list disagrees with it', async () => {
      const { rootId, documents } = await handMadeTonk(LEGACY_FILES.slice(0, 2), {
        layout: 'entries',
        tamper: (docs, ids) => {
          const id = ids.get('/app')!
          docs.set(id, Automerge.change(docs.get(id)!, (d: any) => d.children.splice(0, 1)))
        },
      })
      const report = await validateTonkFile(await writeTonk({ manifest: notesAppManifest(rootId), documents }))
      assert.deepEqual(
        report.issues.map((i) => [i.code, i.severity, i.path]),
        [['E_TONK_VFS_INCONSISTENT', 'warning', '/app']],
      )
      assert.equal(report.loaded!.vfs.files().length, 2)
    })
  })

  describe('real samples from tonk-labs/tonk (skipped without a copy, see test/fixtures/tonk/PROVENANCE.md)', () => {
    const expectations: Record<string, { rootId: string; layout: string; nodes: number; documents: number; check?: (t: LoadedTonk) => void }> = {
      'blank.tonk': { rootId: '3X4Q62EiCtGYZ5W1RsLMSZV8WPRZ', layout: 'path_index-json', nodes: 0, documents: 1 },
      'base.tonk': { rootId: '3X4Q62EiCtGYZ5W1RsLMSZV8WPRZ', layout: 'path_index-json', nodes: 0, documents: 1 },
      'relay-js-app.tonk': {
        rootId: '2XehcERzGALTcjP7C7VxwFJdWoEW',
        layout: 'path_index-json',
        nodes: 8,
        documents: 9,
        check: (t) => {
          assert.deepEqual(tree(t).filter((l) => l.startsWith('f')), [
            'f /app/app/assets/index-BF3Sp213.css 9663 text/css',
            'f /app/app/assets/index-C7c-HWU8.js 252497 text/javascript',
            'f /app/app/index.html 477 text/html',
            'f /app/app/tonk.png 2330 image/png',
            'f /app/app/vite.svg 1497 image/svg+xml',
          ])
          assert.match(text(t.vfs.readFile('/app/app/index.html')!.bytes!), /<html/i)
        },
      },
      'desktonk-app.tonk': {
        rootId: '4MVMGeMdxuLdUftEdZs3GRp1zS3b',
        layout: 'entries',
        nodes: 27,
        documents: 28,
        check: (t) => {
          assert.equal(t.vfs.resolveEntrypoint(t.manifest.entrypoints[0]!), '/app/index.html')
          assert.deepEqual([t.vfs.get('/app/index.html')!.size, t.vfs.get('/app/index.html')!.mime], [2734, 'text/html'])
          assert.equal(t.vfs.files().reduce((n, f) => n + f.size!, 0), 4183111)
        },
      },
    }
    for (const sample of REAL_SAMPLES) {
      it(`${sample.upstreamPath}: inspects, and survives a rewrite by our writer`, async function () {
        const bytes = realSample(sample)
        if (!bytes) return this.skip()
        const expected = expectations[sample.file]!
        const tonk = await loadTonk(bytes)
        assert.deepEqual(
          [tonk.manifest.rootId, tonk.vfs.layout, tonk.vfs.nodes.length, tonk.documents.size, tonk.warnings.length],
          [expected.rootId, expected.layout, expected.nodes, expected.documents, 0],
        )
        expected.check?.(tonk)
        const again = await loadTonk(await writeTonk({ manifest: tonk.manifest, documents: tonk.documents }))
        assert.deepEqual(tree(again), tree(tonk))
        for (const [id, doc] of tonk.documents) assert.equal(saved(again.documents.get(id)!), saved(doc))
      })
    }
    after(function () {
      if (!REAL_SAMPLES.some((s) => realSample(s))) console.log(`      (no real samples in ${realSamplesDir()})`)
    })
  })
})
