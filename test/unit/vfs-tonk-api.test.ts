// Tonk's VFS API names (window.tonk.readFile, setFile, patchFile, spliceText, watchDirectory…) over
// DocTree, on a real Repo with storage on disk; and the preview's copy of an app folder from the VFS.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBundleRepo } from '../../src/core/store/repo'
import { extractVfsSite, resolveSiteEntry, siteKey } from '../../src/core/tonk/vfs-site'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { DocPathError, DocTree } from '../../src/shared/vfs/doc-tree'
import { tonkVfsApi } from '../../src/shared/vfs/tonk-api'

describe('Tonk VFS API (window.tonk names) and the preview site', () => {
  let dir: string
  let close: () => Promise<void>
  let tree: DocTree
  let api: ReturnType<typeof tonkVfsApi>
  let repo: Awaited<ReturnType<typeof createBundleRepo>>['repo']

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-api-'))
    const bundle = await createBundleRepo({ dataDir: join(dir, 'data'), network: [], rootDocumentId: rootDocumentId('api-test'), rootDocumentBytes: await createRootDocumentBytes('api-test') })
    repo = bundle.repo
    tree = new DocTree(bundle.repo, bundle.root, { findTimeoutMs: 5000 })
    api = tonkVfsApi(tree, bundle.repo)
    close = () => bundle.close()
  })
  afterEach(async () => {
    await close()
    await rm(dir, { recursive: true, force: true })
  })

  it('creates, reads, sets, updates, patches, splices, lists, renames and deletes as Tonk does', async () => {
    assert.equal(await api.createFile('/notes/a', { title: 'A', body: 'hello world' }), true)
    await assert.rejects(api.createFile('/notes/a', {}), (e: unknown) => e instanceof DocPathError && e.code === 'INVALID_PATH')
    assert.equal(await api.readFile('/notes/missing'), null)
    const a = await api.readFile('/notes/a')
    assert.equal(a?.type, 'document')
    assert.deepEqual(a?.content, { title: 'A', body: 'hello world' })
    assert.equal(await api.updateFile('/notes/missing', { x: 1 }), false, 'updateFile does not create')
    assert.equal(await api.patchFile('/notes/a', ['meta', 'pinned'], true), true)
    assert.equal(await api.spliceText('/notes/a', ['body'], 6, 5, 'tonk'), true)
    assert.deepEqual((await api.readFile('/notes/a'))?.content, { title: 'A', body: 'hello tonk', meta: { pinned: true } })
    assert.equal(await api.setFileWithBytes('/app/logo.png', { mime: 'image/png' }, new Uint8Array([1, 2, 3])), true)
    assert.deepEqual([...((await api.readFile('/app/logo.png'))?.bytes ?? [])], [1, 2, 3])
    const listing = await api.listDirectory('/')
    assert.deepEqual(listing.map((e) => [e.name, e.type]), [['app', 'directory'], ['notes', 'directory']])
    const meta = await api.getMetadata('/notes/a')
    assert.equal(meta.type, 'document')
    assert.equal(meta.name, 'a')
    assert.equal(`automerge:${meta.pointer}`, await tree.resolve('/notes/a'))
    assert.equal(await api.rename('/notes/a', '/notes/b'), true)
    assert.equal(await api.rename('/notes/a', '/notes/c'), false)
    assert.equal(await api.exists('/notes/b'), true)
    assert.equal(await api.deleteFile('/notes/b'), true)
    assert.equal(await api.deleteFile('/notes/b'), false)
    assert.equal(await api.createDirectory('/empty/dir'), true)
    assert.deepEqual((await api.listDirectory('/empty')).map((e) => e.type), ['directory'])
  })

  it('watchDocument calls back with the whole DocNode on each change until stopped; watchDirectory sees new children', async () => {
    await api.setFile('/todo', { items: [] })
    const seen: any[] = []
    const watcher = await api.watchDocument('/todo', (doc) => seen.push(doc))
    await api.setFile('/todo', { items: ['milk'] })
    assert.equal(seen.length, 1)
    assert.equal(seen[0].type, 'document')
    assert.deepEqual(seen[0].content, { items: ['milk'] })
    assert.equal(`automerge:${watcher.documentId()}`, await tree.resolve('/todo'))
    await watcher.stop()
    await api.setFile('/todo', { items: ['eggs'] })
    assert.equal(seen.length, 1, 'nothing after stop()')

    await api.createDirectory('/dir')
    const dirs: any[] = []
    const dirWatcher = await api.watchDirectory('/dir', (d) => dirs.push(d))
    await api.setFile('/dir/x', { n: 1 })
    assert.ok(dirs.some((d) => d.children?.some((c: any) => c.name === 'x')), JSON.stringify(dirs))
    await dirWatcher.stop()
    await assert.rejects(api.watchDocument('/nothing', () => {}), DocPathError)
    await assert.rejects(api.watchDirectory('/todo', () => {}), DocPathError)
  })

  it('copies the entrypoint folder to disk once per state, and the key changes when an app file does', async () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    await api.setFileWithBytes('/app/index.html', { mime: 'text/html' }, enc('<h1>v1</h1>'))
    await api.setFileWithBytes('/app/js/main.js', { mime: 'text/javascript' }, enc('1'))
    await api.setFile('/notes/todo', 'water the plants')
    assert.equal(resolveSiteEntry(tree, 'nothing'), undefined)
    const entry = resolveSiteEntry(tree, 'app')!
    assert.deepEqual(entry, { folder: '/app', entry: '/app/index.html' })
    assert.deepEqual(resolveSiteEntry(tree, '/app/index.html'), entry)
    const root = join(dir, 'preview')
    const first = await extractVfsSite(tree, repo, entry, root)
    assert.equal(first.files, 2)
    assert.equal(await readFile(join(first.dir, 'index.html'), 'utf8'), '<h1>v1</h1>')
    assert.equal(await readFile(join(first.dir, 'js', 'main.js'), 'utf8'), '1')
    await assert.rejects(readFile(join(first.dir, 'notes', 'todo')), 'only the app folder is copied')

    // A data write outside the folder changes nothing; an app file does.
    await api.setFile('/notes/todo', 'and the garden')
    assert.equal(await siteKey(tree, repo, '/app'), first.key)
    assert.equal((await extractVfsSite(tree, repo, entry, root)).dir, first.dir, 'same state, same copy')
    await api.setFileWithBytes('/app/index.html', { mime: 'text/html' }, enc('<h1>v2</h1>'))
    const second = await extractVfsSite(tree, repo, entry, root)
    assert.notEqual(second.key, first.key)
    assert.equal(await readFile(join(second.dir, 'index.html'), 'utf8'), '<h1>v2</h1>')
    assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('vfs-')), [second.dir.slice(root.length + 1)], 'the older copy is gone')
  })

  it('refuses an app folder with too many files or bytes (any member may write it), writing nothing', async () => {
    for (const n of [1, 2, 3]) await api.setFile(`/app/f${n}.js`, 'x'.repeat(100))
    await api.setFile('/app/index.html', '<p>x</p>')
    const root = join(dir, 'preview')
    const entry = resolveSiteEntry(tree, 'app')!
    await assert.rejects(extractVfsSite(tree, repo, entry, root, { maxFiles: 3, maxBytes: 1e6 }), (e: any) => e.code === 'E_TONK_SITE_TOO_LARGE' && /4 files/.test(e.message))
    await assert.rejects(extractVfsSite(tree, repo, entry, root, { maxFiles: 10, maxBytes: 250 }), (e: any) => e.code === 'E_TONK_SITE_TOO_LARGE')
    assert.deepEqual((await readdir(root).catch(() => [])).filter((n) => n.startsWith('vfs-')), [])
  })

  it('refuses an app folder whose names no disk can hold, writing nothing', async () => {
    await api.setFile('/app/index.html', '<p>x</p>')
    await api.setFile('/app/a:b.js', '1')
    const root = join(dir, 'preview')
    await assert.rejects(extractVfsSite(tree, repo, resolveSiteEntry(tree, 'app')!, root), (e: any) => e.code === 'E_EXTRACT_UNSAFE')
    assert.deepEqual(await readdir(root).catch(() => []), [])
  })
})
