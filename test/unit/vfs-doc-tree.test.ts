// createBundleRepo and the DocTree path API: one repo, restarts, and two repos syncing in memory.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AutomergeUrl, NetworkAdapterInterface } from '@automerge/automerge-repo/slim'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import type { Logger } from '../../src/shared/log'
import { DocPathError, DocTree, entryConflicts, normalizeDocPath, parseDocPath } from '../../src/shared/vfs/doc-tree'
import { createBundleRepo, type BundleRepo } from '../../src/core/store/repo'
import { createAdapterPair } from '../helpers/docs-pair-adapter'

const NAMESPACE = 'paths-test'

async function openBundle(dataDir: string, network: NetworkAdapterInterface[] = [], logger?: Logger) {
  const bundle = await createBundleRepo({
    dataDir,
    network,
    rootDocumentId: rootDocumentId(NAMESPACE),
    rootDocumentBytes: await createRootDocumentBytes(NAMESPACE),
    logger,
  })
  return { ...bundle, tree: new DocTree(bundle.repo, bundle.root, { findTimeoutMs: 5000 }) }
}

async function eventually<T>(probe: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let value: T | undefined
    let failure: unknown
    try {
      value = await probe()
      if (ok(value)) return value
    } catch (error) {
      failure = error
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms (last: ${failure ? String(failure) : JSON.stringify(value)})`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const codeOf = (code: string) => (error: unknown) => error instanceof DocPathError && error.code === code

describe('docs paths: validation', () => {
  it('accepts absolute paths and normalizes one trailing slash', () => {
    assert.deepEqual(parseDocPath('/'), [])
    assert.deepEqual(parseDocPath('/a/b c/ü'), ['a', 'b c', 'ü'])
    assert.equal(normalizeDocPath('/a/b/'), '/a/b')
  })

  it('refuses relative, empty, dot and control-character segments with typed errors', () => {
    for (const bad of ['', 'a', 'a/b', '//', '/a//b', '/a/./b', '/a/..', '/..', '/a\u0000', '/a\nb', '/' + 'x'.repeat(256), 3]) {
      assert.throws(() => parseDocPath(bad), codeOf('INVALID_PATH'), JSON.stringify(bad))
    }
  })
})

describe('docs paths: one repo', () => {
  let dir: string
  let bundle: Awaited<ReturnType<typeof openBundle>>
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-paths-'))
    bundle = await openBundle(dir)
  })
  afterEach(async () => {
    await bundle.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('the root is the bundle root document; peers are told the storage id that is stored', async () => {
    assert.equal(bundle.root.documentId, rootDocumentId(NAMESPACE))
    assert.equal(String(bundle.root.doc().type), 'path_index')
    assert.equal(await bundle.repo.storageId(), bundle.storageId)
    assert.equal(new TextDecoder().decode(await bundle.storage.load(['storage-adapter-id'])), bundle.storageId)
  })

  it('writeDoc creates parents; readDoc, ls, resolve and walk see it', async () => {
    const { tree } = bundle
    const url = await tree.writeDoc('/a/b/c', { title: 'hello', tags: ['x'] })
    assert.deepEqual(await tree.readDoc('/a/b/c'), { title: 'hello', tags: ['x'] })
    assert.equal(await tree.resolve('/a/b/c'), url)
    assert.equal(await tree.resolve('/'), tree.rootUrl)
    assert.equal(await tree.resolve('/a/nope'), undefined)
    assert.equal(await tree.readDoc('/a/nope'), undefined)
    assert.equal(await tree.readDoc('/nope/deeper'), undefined)
    const listing = await tree.ls('/a/b')
    assert.deepEqual(
      listing.map(({ name, type, url }) => ({ name, type, url })),
      [{ name: 'c', type: 'doc', url }],
    )
    assert.ok(listing[0]!.timestamps.created > 0)
    assert.deepEqual(
      (await tree.ls('/a')).map((e) => [e.name, e.type]),
      [['b', 'dir']],
    )
    await tree.writeDoc('/a/z', { n: 1 })
    assert.deepEqual(
      (await tree.walk()).map((e) => [e.path, e.type]),
      [
        ['/a', 'dir'],
        ['/a/b', 'dir'],
        ['/a/b/c', 'doc'],
        ['/a/z', 'doc'],
      ],
    )
  })

  it('writeDoc on an existing path replaces the content in the same document', async () => {
    const { tree } = bundle
    const url = await tree.writeDoc('/doc', { a: 1, b: 2 })
    assert.equal(await tree.writeDoc('/doc', { b: 3, c: 4 }), url)
    assert.deepEqual(await tree.readDoc('/doc'), { b: 3, c: 4 })
  })

  it('changeDoc edits in place; errors are typed', async () => {
    const { tree } = bundle
    await tree.writeDoc('/counter', { n: 0 })
    await tree.changeDoc<{ n: number }>('/counter', (d) => void (d.n += 5))
    assert.deepEqual(await tree.readDoc('/counter'), { n: 5 })
    await assert.rejects(tree.changeDoc('/missing', () => {}), codeOf('NOT_FOUND'))
    await tree.mkDir('/dir')
    await assert.rejects(tree.readDoc('/dir'), codeOf('NOT_A_DOCUMENT'))
    await assert.rejects(tree.writeDoc('/dir', { x: 1 }), codeOf('NOT_A_DOCUMENT'))
    await assert.rejects(tree.writeDoc('/counter/x', { x: 1 }), codeOf('NOT_A_DIRECTORY'))
    await assert.rejects(tree.ls('/counter'), codeOf('NOT_A_DIRECTORY'))
    await assert.rejects(tree.ls('/nothing'), codeOf('NOT_FOUND'))
    await assert.rejects(tree.rm('/'), codeOf('INVALID_PATH'))
    await assert.rejects(tree.writeDoc('/arr', [1, 2] as unknown as object), TypeError)
  })

  it('mkDir is idempotent; rm unlinks', async () => {
    const { tree } = bundle
    const url = await tree.mkDir('/x/y')
    assert.equal(await tree.mkDir('/x/y/'), url)
    await tree.writeDoc('/x/y/doc', { v: 1 })
    assert.equal(await tree.rm('/x/y/doc'), true)
    assert.equal(await tree.rm('/x/y/doc'), false)
    assert.equal(await tree.readDoc('/x/y/doc'), undefined)
    assert.equal(await tree.rm('/x'), true)
    assert.deepEqual(await tree.walk(), [])
  })

  it('Tonk-named extras: exists, readFile, rename (documents kept, names updated, errors typed)', async () => {
    const { tree } = bundle
    const url = await tree.writeDoc('/a/doc', { v: 1 })
    assert.equal(await tree.exists('/a/doc'), true)
    assert.equal(await tree.exists('/a/none'), false)
    assert.equal(await tree.exists('/'), true)
    const file = await tree.readFile('/a/doc')
    assert.equal(file?.name, 'doc')
    assert.deepEqual(file?.content, { v: 1 })
    assert.equal(file?.bytes, undefined)
    assert.equal(await tree.rename('/a', '/b/c'), await tree.resolve('/b/c'))
    assert.equal(await tree.resolve('/b/c/doc'), url)
    assert.equal(await tree.exists('/a/doc'), false)
    assert.deepEqual((await tree.walk()).map((e) => e.path), ['/b', '/b/c', '/b/c/doc'])
    assert.equal(await tree.rename('/b/c/doc', '/b/renamed'), url)
    assert.equal((await tree.readFile('/b/renamed'))?.name, 'renamed')
    await assert.rejects(tree.rename('/nothing', '/x'), codeOf('NOT_FOUND'))
    await assert.rejects(tree.rename('/b', '/b/c/inside'), codeOf('INVALID_PATH'))
    await assert.rejects(tree.rename('/b/c', '/b/renamed'), codeOf('INVALID_PATH'))
  })

  it('listen follows a path that appears, changes, disappears and comes back', async () => {
    const { tree } = bundle
    const seen: Array<unknown> = []
    const urls: Array<AutomergeUrl | undefined> = []
    const off = tree.listen<{ v: number }>('/later/doc', (value, url) => {
      seen.push(value ? value.v : undefined)
      urls.push(url)
    })
    await eventually(() => seen.length, (n) => n === 1)
    assert.deepEqual(seen, [undefined])
    const first = await tree.writeDoc('/later/doc', { v: 1 })
    await eventually(() => seen.at(-1), (v) => v === 1)
    await tree.changeDoc<{ v: number }>('/later/doc', (d) => void (d.v = 2))
    await eventually(() => seen.at(-1), (v) => v === 2)
    await tree.rm('/later')
    await eventually(() => seen.at(-1), (v) => v === undefined)
    const second = await tree.writeDoc('/later/doc', { v: 3 })
    await eventually(() => seen.at(-1), (v) => v === 3)
    assert.notEqual(first, second)
    assert.equal(urls.at(-1), second)
    off()
    const count = seen.length
    await tree.changeDoc<{ v: number }>('/later/doc', (d) => void (d.v = 4))
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(seen.length, count)
  })

  it('survives a restart: same content, root loaded from storage, same storage id', async () => {
    const { tree } = bundle
    await tree.writeDoc('/persist/me', { text: 'kept' })
    const storageId = bundle.storageId
    await bundle.close()
    const infos: string[] = []
    const logger: Logger = { debug() {}, info: (m) => void infos.push(m), warn() {}, error() {} }
    bundle = await openBundle(dir, [], logger)
    assert.deepEqual(await bundle.tree.readDoc('/persist/me'), { text: 'kept' })
    assert.equal(bundle.storageId, storageId)
    assert.ok(infos.some((m) => m.includes('loaded from storage')), infos.join('\n'))
    // Once stored, the root opens without the bundle's bytes (what offline tools do).
    await bundle.close()
    const bare = await createBundleRepo({
      dataDir: dir,
      network: [],
      rootDocumentId: rootDocumentId(NAMESPACE),
      rootDocumentBytes: new Uint8Array(),
    })
    assert.deepEqual(await new DocTree(bare.repo, bare.root).readDoc('/persist/me'), { text: 'kept' })
    await bare.close()
  })

  it('refuses to create a root from empty bytes', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tonk-paths-empty-'))
    try {
      await assert.rejects(
        createBundleRepo({ dataDir: empty, network: [], rootDocumentId: rootDocumentId('other'), rootDocumentBytes: new Uint8Array() }),
        /no initial bytes/,
      )
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })
})

describe('docs paths: two repos over an in-memory adapter pair', () => {
  let dirs: string[]
  let a: Awaited<ReturnType<typeof openBundle>>
  let b: Awaited<ReturnType<typeof openBundle>>
  beforeEach(async () => {
    dirs = [await mkdtemp(join(tmpdir(), 'tonk-paths-a-')), await mkdtemp(join(tmpdir(), 'tonk-paths-b-'))]
    const [left, right] = createAdapterPair()
    ;[a, b] = await Promise.all([openBundle(dirs[0]!, [left]), openBundle(dirs[1]!, [right])])
  })
  afterEach(async () => {
    await Promise.all([a.close(), b.close()])
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })))
  })

  it('a document written on one repo is readable by path on the other', async () => {
    await a.tree.writeDoc('/notes/today', { text: 'from a' })
    const value = await eventually(
      () => b.tree.readDoc<{ text: string }>('/notes/today'),
      (v) => v?.text === 'from a',
    )
    assert.deepEqual(value, { text: 'from a' })
    // The storage id each side announced is the one it stored (stable across restarts).
    assert.equal(b.repo.getStorageIdOfPeer(a.repo.peerId), a.storageId)
    assert.equal(a.repo.getStorageIdOfPeer(b.repo.peerId), b.storageId)
    // And edits flow back.
    await b.tree.changeDoc<{ text: string }>('/notes/today', (d) => void (d.text = 'edited on b'))
    await eventually(
      () => a.tree.readDoc<{ text: string }>('/notes/today'),
      (v) => v?.text === 'edited on b',
    )
  })

  it('a listener on one repo sees a path created on the other', async () => {
    const seen: Array<string | undefined> = []
    const off = b.tree.listen<{ text: string }>('/inbox/msg', (value) => seen.push(value?.text))
    await a.tree.writeDoc('/inbox/msg', { text: 'hi' })
    await eventually(() => seen.at(-1), (v) => v === 'hi')
    off()
  })

  it('both creating the same directory converges on one entry; files made inside either stay visible', async () => {
    const [urlA, urlB] = await Promise.all([a.tree.mkDir('/shared'), b.tree.mkDir('/shared')])
    const converged = await eventually(
      async () => [await a.tree.resolve('/shared'), await b.tree.resolve('/shared')],
      ([x, y]) => x !== undefined && x === y,
    )
    assert.ok(converged[0] === urlA || converged[0] === urlB)
    // Created concurrently, Automerge keeps both index entries as a conflict (until a write repairs it, which
    // mkDir itself may already do when the other's entry arrives first); every value is one of the two.
    const ids = entryConflicts(a.root.doc(), '/shared').map((e) => `automerge:${e.doc_id}`)
    assert.ok(ids.includes(converged[0]!) && ids.every((id) => id === urlA || id === urlB), ids.join(' '))
    await a.tree.writeDoc('/shared/one', { from: 'a' })
    await b.tree.writeDoc('/shared/two', { from: 'b' })
    const names = await eventually(
      async () => [(await a.tree.ls('/shared')).map((e) => e.name), (await b.tree.ls('/shared')).map((e) => e.name)],
      ([x, y]) => x!.length === 2 && JSON.stringify(x) === JSON.stringify(y),
    )
    assert.deepEqual(names[0], ['one', 'two'])
  })
})

// Type-level check that the result exposes what the session needs.
const _shape = (r: BundleRepo) => [r.repo, r.root, r.storage, r.storageId, r.close] as const
void _shape
