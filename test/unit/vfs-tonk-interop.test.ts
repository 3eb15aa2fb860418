// One VFS model, Tonk's (issue 15): DocTree reads what Tonk writes and Tonk's shapes are what DocTree
// writes. Both ways: documents written by hand with raw Automerge as Tonk's Rust writes them
// (test/helpers/tonk-fixtures.ts handMadeTonk, not through src/) are read by DocTree; what DocTree
// writes is read by the .tonk VFS reader (src/core/tonk/vfs.ts) with no warning, written to a .tonk
// and opened again. Real samples from tonk-labs/tonk are opened with DocTree when a copy is at hand.
import assert from 'node:assert/strict'
import { Automerge, Repo, type DocHandle, type DocumentId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { DocTree } from '../../src/shared/vfs/doc-tree'
import type { RootDoc } from '../../src/shared/vfs/shapes'
import { loadTonk, readVfs, writeTonk } from '../../src/core/tonk'
import { handMadeTonk, LEGACY_FILES, notesAppManifest, REAL_SAMPLES, realSample, type HandFile } from '../helpers/tonk-fixtures'

type Doc = Automerge.Doc<unknown>
const enc = (s: string) => new TextEncoder().encode(s)

/** A Repo without storage or network holding `documents`, and a DocTree over `rootId`. */
async function openDocuments(rootId: string, documents: ReadonlyMap<string, Doc>) {
  await initAutomerge()
  const repo = new Repo({ network: [] })
  for (const [id, doc] of documents) repo.import(Automerge.save(doc), { docId: id as DocumentId })
  const root = await repo.find<RootDoc>(`automerge:${rootId}` as never)
  return { repo, root, tree: new DocTree(repo, root, { findTimeoutMs: 2000 }) }
}

/** Every ready document of a Repo, by id: what an export would write. */
function documentsOf(repo: Repo): Map<string, Doc> {
  const out = new Map<string, Doc>()
  for (const [id, handle] of Object.entries(repo.handles)) if (handle.isReady()) out.set(id, (handle as DocHandle<unknown>).doc() as Doc)
  return out
}

const HAND_FILES: HandFile[] = [
  { path: '/app/index.html', bytes: enc('<!doctype html><p>hi</p>\n'), mime: 'text/html' },
  { path: '/notes/welcome.json', content: { title: 'Welcome', tags: ['a', 'b'], nested: { n: 1 } } },
  { path: '/notes/todo.txt', content: { value: 'buy milk' } },
]

describe('vfs interop: what Tonk writes, DocTree reads', () => {
  for (const layout of ['entries', 'path_index-json'] as const) {
    it(`a VFS written by hand in Tonk's shapes (${layout} layout) lists, reads and takes writes`, async () => {
      const files = layout === 'entries' ? HAND_FILES : LEGACY_FILES
      const { rootId, documents, ids } = await handMadeTonk(files, { layout, seed: `interop-${layout}` })
      const { repo, tree } = await openDocuments(rootId, documents)
      const expected = [...new Set(files.flatMap((f) => {
        const parts = f.path.split('/').slice(1)
        return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'))
      }))].sort()
      assert.deepEqual((await tree.walk()).map((e) => e.path).sort(), expected)
      for (const e of await tree.walk()) assert.equal(e.url, `automerge:${ids.get(e.path)}`)
      if (layout === 'entries') {
        assert.deepEqual((await tree.ls('/notes')).map((e) => [e.name, e.type]), [['todo.txt', 'doc'], ['welcome.json', 'doc']])
        // Scalar strings come back as plain strings; {value: X} is unwrapped as Tonk does.
        assert.deepEqual(await tree.readDoc('/notes/welcome.json'), { title: 'Welcome', tags: ['a', 'b'], nested: { n: 1 } })
        assert.equal(await tree.readDoc('/notes/todo.txt'), 'buy milk')
        const page = await tree.readFile('/app/index.html')
        assert.deepEqual(page?.content, { mime: 'text/html' })
        assert.equal(new TextDecoder().decode(page?.bytes), '<!doctype html><p>hi</p>\n')
        assert.equal(page?.name, 'index.html')
      } else {
        // Content kept as a JSON string (Tonk before autumn 2025) is parsed back.
        assert.deepEqual(await tree.readDoc('/state/counter.json'), { count: 3 })
      }
      // A write into the existing tree: the older layout gains Tonk's native `entries`, old entries kept.
      await tree.writeDoc('/notes/new.json', { from: 'tonk-p2p' })
      await tree.changeDoc<{ title?: string }>(layout === 'entries' ? '/notes/welcome.json' : '/state/counter.json', (d) => void (d.title = 'edited'))
      const { vfs, issues } = readVfs(rootId, documentsOf(repo))
      assert.deepEqual(issues, [])
      assert.equal(vfs!.layout, 'entries')
      assert.deepEqual(vfs!.files().map((n) => n.path).sort(), [...files.map((f) => f.path), '/notes/new.json'].sort())
      assert.deepEqual(vfs!.readFile('/notes/new.json')!.content, { from: 'tonk-p2p' })
      if (layout === 'path_index-json') assert.deepEqual(vfs!.readFile('/state/counter.json')!.content, { count: 3, title: 'edited' })
    })
  }
})

describe('vfs interop: what DocTree writes, Tonk reads', () => {
  it("DocTree's documents read by the .tonk VFS reader with no warning, also after rm and rename; a .tonk of them reopens equal", async () => {
    await initAutomerge()
    const namespace = 'interop-out'
    const rootId = rootDocumentId(namespace)
    const repo = new Repo({ network: [] })
    const root = repo.import<RootDoc>(await createRootDocumentBytes(namespace), { docId: rootId })
    let now = Date.UTC(2026, 0, 1)
    const tree = new DocTree(repo, root, { now: () => (now += 1500) })
    await tree.writeDoc('/notes/x', { text: 'hello', list: [1, 2] })
    await tree.writeDoc('/notes/deep/y', { n: 1 })
    await tree.writeDoc('/top', { ok: true })
    await tree.mkDir('/empty')
    await tree.writeDoc('/gone/z', { z: 1 })
    assert.equal(await tree.rm('/gone'), true)
    await tree.rename('/notes/deep', '/moved/deeper')
    await tree.changeDoc<{ text: string }>('/notes/x', (d) => void (d.text = 'hello again'))
    // Files as Tonk's createFileWithBytes / setFile make them: raw bytes with {mime}, a primitive content.
    await tree.writeFile('/app/index.html', { mime: 'text/html' }, enc('<p>v1</p>'))
    await tree.writeFile('/app/index.html', { mime: 'text/html' }, enc('<p>v2</p>'))
    await tree.writeFile('/notes/todo.txt', 'buy milk')

    const { vfs, issues } = readVfs(rootId, documentsOf(repo))
    assert.deepEqual(issues, [], JSON.stringify(issues))
    assert.equal(vfs!.layout, 'entries')
    assert.deepEqual(vfs!.nodes.map((n) => [n.path, n.type]), [
      ['/app', 'directory'],
      ['/app/index.html', 'document'],
      ['/empty', 'directory'],
      ['/moved', 'directory'],
      ['/moved/deeper', 'directory'],
      ['/moved/deeper/y', 'document'],
      ['/notes', 'directory'],
      ['/notes/todo.txt', 'document'],
      ['/notes/x', 'document'],
      ['/top', 'document'],
    ])
    const page = vfs!.readFile('/app/index.html')!
    assert.equal(new TextDecoder().decode(page.data), '<p>v2</p>')
    assert.equal(page.mime, 'text/html')
    assert.equal(vfs!.readFile('/notes/todo.txt')!.content, 'buy milk')
    assert.equal(await tree.readDoc('/notes/todo.txt'), 'buy milk')
    assert.equal(new TextDecoder().decode((await tree.readFile('/app/index.html'))!.bytes), '<p>v2</p>')
    assert.deepEqual(vfs!.readFile('/notes/x')!.content, { text: 'hello again', list: [1, 2] })
    assert.deepEqual(vfs!.readFile('/moved/deeper/y')!.content, { n: 1 })
    assert.equal(vfs!.readFile('/notes/x')!.mime, 'application/json')

    // Exactly Tonk's field types: scalar strings where Rust reads scalars, integer milliseconds, bare ids.
    const rootDoc = root.doc() as unknown as Record<string, any>
    assert.ok(Automerge.isImmutableString(rootDoc.type))
    const entry = rootDoc.entries['/notes/x']
    assert.ok(Automerge.isImmutableString(entry.doc_id) && Automerge.isImmutableString(entry.node_type))
    assert.ok(Number.isInteger(entry.created) && entry.created > Date.UTC(2026, 0, 1))
    assert.ok(!String(entry.doc_id).startsWith('automerge:'))
    const notes = repo.handles[String(rootDoc.entries['/notes'].doc_id) as DocumentId]!.doc() as Record<string, any>
    assert.equal(String(notes.type), 'directory')
    assert.deepEqual(
      notes.children.map((c: any) => [String(c.name), String(c.type)]),
      [['x', 'document'], ['todo.txt', 'document']],
    )
    assert.equal(String(notes.children[0].pointer), String(entry.doc_id))
    const file = repo.handles[String(entry.doc_id) as DocumentId]!.doc() as Record<string, any>
    assert.ok(Automerge.isImmutableString(file.type) && Automerge.isImmutableString(file.name))
    assert.deepEqual(Object.keys(file).sort(), ['content', 'name', 'timestamps', 'type'])

    // Through a .tonk file and back into a DocTree: the same tree and contents.
    const bytes = await writeTonk({ manifest: { ...notesAppManifest(rootId), entrypoints: [] }, documents: documentsOf(repo) })
    const loaded = await loadTonk(bytes)
    assert.deepEqual(loaded.warnings, [])
    const reopened = await openDocuments(loaded.manifest.rootId, loaded.documents)
    assert.deepEqual(
      (await reopened.tree.walk()).map((e) => [e.path, e.type, e.url]),
      (await tree.walk()).map((e) => [e.path, e.type, e.url]),
    )
    assert.deepEqual(await reopened.tree.readDoc('/notes/x'), { text: 'hello again', list: [1, 2] })
  })
})

describe('vfs interop: real samples from tonk-labs/tonk', () => {
  for (const sample of REAL_SAMPLES) {
    it(`${sample.file}: DocTree lists the files the .tonk reader finds`, async function () {
      const bytes = realSample(sample)
      if (!bytes) return this.skip()
      const loaded = await loadTonk(bytes)
      const { tree } = await openDocuments(loaded.manifest.rootId, loaded.documents)
      const walked = await tree.walk()
      assert.deepEqual(
        walked.filter((e) => e.type === 'doc').map((e) => e.path).sort(),
        loaded.vfs.files().map((n) => n.path).sort(),
      )
      for (const node of loaded.vfs.files().slice(0, 5)) {
        const file = await tree.readFile(node.path)
        const expected = loaded.vfs.readFile(node.path)!
        if (expected.bytes) assert.deepEqual(file?.bytes, expected.bytes, node.path)
        else assert.deepEqual(file?.content, expected.content, node.path)
      }
    })
  }
})
