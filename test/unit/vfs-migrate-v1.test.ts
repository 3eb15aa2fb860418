// A data dir written before the Tonk model (issue 15): its keepsync-style tree (children map keyed by
// name, root at legacyRootDocumentId) is copied once into the v2 PathIndex when the bundle opens it
// (src/core/vfs/migrate-v1.ts), deterministically, and never again.
import assert from 'node:assert/strict'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { Automerge, type AutomergeUrl } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { createRootDocumentBytes, legacyRootDocumentId, rootDocumentId } from '../../src/core/vfs/root-document'
import { createBundleRepo } from '../../src/core/store/repo'
import { DocTree } from '../../src/shared/vfs/doc-tree'
import { readVfs } from '../../src/core/tonk'
import { writeDataDirInfo } from '../../src/core/host/data-dir'
import { openOfflineDocs } from '../../src/core/host/offline-docs'

const NAMESPACE = 'migrate-test'
const T = Date.UTC(2025, 5, 1)

/** The v1 root's initial bytes, as createRootDocumentBytes wrote them before issue 15. */
async function v1RootBytes(namespace: string): Promise<Uint8Array> {
  await initAutomerge()
  const actor = createHash('sha256').update(`tonk-root-actor:${namespace}`).digest().subarray(0, 16).toString('hex')
  const root = Automerge.change(Automerge.init<Record<string, unknown>>({ actor }), { time: 0 }, (d) => {
    Object.assign(d, { type: 'dir', name: '', timestamps: { created: 0, modified: 0 }, children: {} })
  })
  return Automerge.save(root)
}

/** A v1 data dir: /notes (dir) with /notes/a, and /top, written in the v1 shapes. */
async function writeV1DataDir(dataDir: string) {
  const bundle = await createBundleRepo({ dataDir, network: [], rootDocumentId: legacyRootDocumentId(NAMESPACE), rootDocumentBytes: await v1RootBytes(NAMESPACE) })
  const ts = { created: T, modified: T }
  const a = bundle.repo.create({ text: 'hello', list: [1, 2] })
  const top = bundle.repo.create({ n: 1 })
  const notes = bundle.repo.create({ type: 'dir', name: 'notes', timestamps: ts, children: { a: { type: 'doc', pointer: a.url, timestamps: ts } } })
  bundle.root.change((d: any) => {
    d.children.notes = { type: 'dir', pointer: notes.url, timestamps: ts }
    d.children.top = { type: 'doc', pointer: top.url, timestamps: ts }
  })
  await bundle.repo.flush()
  await bundle.close()
}

const openV2 = async (dataDir: string) => {
  const bundle = await createBundleRepo({
    dataDir,
    network: [],
    rootDocumentId: rootDocumentId(NAMESPACE),
    rootDocumentBytes: await createRootDocumentBytes(NAMESPACE),
    legacyRootDocumentId: legacyRootDocumentId(NAMESPACE),
  })
  return { ...bundle, tree: new DocTree(bundle.repo, bundle.root, { findTimeoutMs: 2000 }) }
}

describe('vfs: migrating a v1 data dir into the Tonk model', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-migrate-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('copies the v1 tree once, deterministically; v1 documents are left alone; a later rm is not undone', async () => {
    const one = join(dir, 'one')
    const two = join(dir, 'two')
    await writeV1DataDir(one)
    await cp(one, two, { recursive: true })

    const a = await openV2(one)
    assert.notEqual(rootDocumentId(NAMESPACE), legacyRootDocumentId(NAMESPACE))
    assert.deepEqual((await a.tree.walk()).map((e) => [e.path, e.type]), [
      ['/notes', 'dir'],
      ['/notes/a', 'doc'],
      ['/top', 'doc'],
    ])
    assert.deepEqual(await a.tree.readDoc('/notes/a'), { text: 'hello', list: [1, 2] })
    assert.deepEqual(await a.tree.readDoc('/top'), { n: 1 })
    assert.equal((await a.tree.ls('/'))[0]!.timestamps.created, T)
    // In Tonk's shapes: the .tonk reader finds it consistent (DirNode children included).
    const documents = new Map(Object.entries(a.repo.handles).filter(([, h]) => h.isReady()).map(([id, h]) => [id, h.doc() as Automerge.Doc<unknown>]))
    const { vfs, issues } = readVfs(a.root.documentId, documents)
    assert.deepEqual(issues, [])
    assert.deepEqual(vfs!.files().map((n) => n.path), ['/notes/a', '/top'])
    // The v1 root still holds its own tree.
    const legacy = await a.repo.find<{ children: Record<string, unknown> }>(`automerge:${legacyRootDocumentId(NAMESPACE)}` as AutomergeUrl)
    assert.deepEqual(Object.keys(legacy.doc().children).sort(), ['notes', 'top'])

    // Another peer migrating the same v1 state makes the same documents and the same root history.
    const b = await openV2(two)
    assert.deepEqual((await b.tree.walk()).map((e) => e.url), (await a.tree.walk()).map((e) => e.url))
    assert.deepEqual(Automerge.getHeads(b.root.doc()).sort(), Automerge.getHeads(a.root.doc()).sort())
    await b.close()

    // Runs once: a v2 rm stays removed after a restart although v1 still has the path.
    assert.equal(await a.tree.rm('/top'), true)
    await a.tree.flush()
    await a.close()
    const again = await openV2(one)
    assert.deepEqual((await again.tree.walk()).map((e) => e.path), ['/notes', '/notes/a'])
    await again.close()
  })

  it('offline doc commands on a data dir last run on v1 open the v2 tree, migrated', async () => {
    await writeV1DataDir(dir)
    await writeDataDirInfo(dir, {
      bundleId: 'b'.repeat(64),
      name: 'migrate-test',
      version: '1.0.0',
      namespace: NAMESPACE,
      rootDocumentId: legacyRootDocumentId(NAMESPACE),
      endpointId: 'e'.repeat(64),
      ticket: 'ticket',
      peerName: 'old',
      pid: 0,
      startedAt: new Date(T).toISOString(),
    })
    const docs = await openOfflineDocs(dir)
    try {
      const ctx = {} as never
      assert.deepEqual(((await docs.handlers.ls!({ path: '/' }, ctx)) as Array<{ name: string }>).map((e) => e.name), ['notes', 'top'])
      assert.deepEqual(((await docs.handlers.get!({ path: '/notes/a' }, ctx)) as { value: unknown }).value, { text: 'hello', list: [1, 2] })
    } finally {
      await docs.close()
    }
  })

  it('a fresh data dir has nothing to copy and records that', async () => {
    const fresh = await openV2(dir)
    assert.deepEqual(await fresh.tree.walk(), [])
    assert.ok(await fresh.storage.load(['vfs-migration', 'v1-to-v2']))
    await fresh.close()
  })
})

