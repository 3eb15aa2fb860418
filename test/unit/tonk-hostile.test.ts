// Hostile .tonk files: every zip-level defence of the bundle reader, and the .tonk-specific ones
// (snapshots, ids, the root, the VFS), each a typed BundleError with nothing written; then unpack's own
// refusals (unsafe names, collisions, overwrites, symlinks) and the writer's.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Automerge } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { BundleError, type BundleErrorCode, type BundleLimits } from '../../src/core/bundle'
import { loadTonk, snapshotEntryName, unpackTonk, validateTonkFile, writeTonk, type TonkManifest } from '../../src/core/tonk'
import { cleanupTemp, tempDir, unzipEntries } from '../helpers/bundle-fixtures'
import { deflatedZeros, rawZip, unixMode, type RawEntry } from '../helpers/raw-zip'
import { fixedId, handMadeTonk, makeNotesApp, notesAppManifest, type HandFile, type HandOptions } from '../helpers/tonk-fixtures'

type Doc = Automerge.Doc<unknown>
const enc = (s: string) => new TextEncoder().encode(s)
const json = (v: unknown) => enc(JSON.stringify(v))
const MiB = 1024 * 1024

let notesApp: Uint8Array
let notesEntries: Map<string, Uint8Array>

/** A zip of the notes app after editing its entries (raw: nothing checks what goes in). */
function edited(edit: (entries: Map<string, Uint8Array>) => void): Uint8Array {
  const entries = new Map(notesEntries)
  edit(entries)
  return rawZip([...entries].map(([name, data]) => ({ name, data })))
}

const manifestOf = (entries: Map<string, Uint8Array>) => JSON.parse(new TextDecoder().decode(entries.get('manifest.json')!)) as Record<string, unknown>

/** A .tonk zipped by hand from documents, bypassing the writer's own checks. */
function zipOf(manifest: TonkManifest | Record<string, unknown>, documents: Map<string, Doc | Uint8Array>): Uint8Array {
  const entries: RawEntry[] = [{ name: 'manifest.json', data: json(manifest) }]
  for (const [id, doc] of documents) entries.push({ name: snapshotEntryName(id), data: doc instanceof Uint8Array ? doc : Automerge.save(doc) })
  return rawZip(entries)
}

async function handZip(files: HandFile[], options: HandOptions): Promise<Uint8Array> {
  const { rootId, documents } = await handMadeTonk(files, options)
  return zipOf(notesAppManifest(rootId), documents)
}

/** loadTonk and unpack into a folder inside a fresh parent: the load must fail and the parent stay empty. */
async function refused(zip: Uint8Array, code: BundleErrorCode, limits: Partial<BundleLimits> = {}): Promise<BundleError> {
  const parent = tempDir('tonk-hostile-')
  let caught: unknown
  try {
    await unpackTonk(await loadTonk(zip, limits), join(parent, 'out'))
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof BundleError, `expected a BundleError ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  assert.deepEqual(readdirSync(parent), [], 'nothing may be written')
  // validate reports the same code, without throwing.
  const report = await validateTonkFile(zip, limits)
  assert.ok(report.issues.some((i) => i.code === code && i.severity === 'error'), JSON.stringify(report.issues))
  assert.equal(report.loaded, undefined)
  return caught
}

describe('.tonk format: hostile files', function () {
  this.timeout(30000)
  before(async () => {
    await initAutomerge()
    notesApp = await makeNotesApp()
    notesEntries = unzipEntries(notesApp)
  })
  after(() => cleanupTemp())

  it('the unedited notes app loads (so each case below fails for its own reason)', async () => {
    const tonk = await loadTonk(edited(() => {}))
    assert.equal(tonk.vfs.files().length, 5)
  })

  describe('the zip container (the bundle reader\'s defences)', () => {
    it('an entry that climbs out ("../x") → E_ZIP_SLIP', () => refused(edited((e) => e.set('../x', enc('pwned'))), 'E_ZIP_SLIP'))
    it('an absolute entry name → E_ZIP_SLIP', () => refused(edited((e) => e.set('/etc/x', enc('pwned'))), 'E_ZIP_SLIP'))
    it('a symlink entry → E_ZIP_SYMLINK', () =>
      refused(rawZip([...[...notesEntries].map(([name, data]) => ({ name, data })), { name: 'storage/ln', data: enc('/etc/passwd'), externalAttributes: unixMode(0o120777) }]), 'E_ZIP_SYMLINK'))
    it('the same entry twice → E_ZIP_DUPLICATE', () =>
      refused(rawZip([...[...notesEntries].map(([name, data]) => ({ name, data })), { name: 'manifest.json', data: notesEntries.get('manifest.json')! }]), 'E_ZIP_DUPLICATE'))
    it('more entries than allowed → E_ZIP_TOO_MANY_FILES', () => refused(notesApp, 'E_ZIP_TOO_MANY_FILES', { maxFiles: 4 }))
    it('an entry larger than allowed → E_ZIP_TOO_LARGE', () => refused(notesApp, 'E_ZIP_TOO_LARGE', { maxFileBytes: 200 }))
    it('a zip bomb (deflated zeros) → E_ZIP_RATIO', () => {
      const bomb = deflatedZeros(64)
      return refused(
        rawZip([...[...notesEntries].map(([name, data]) => ({ name, data })), { name: 'storage/bo/mb', compressed: bomb.compressed, crc: bomb.crc, uncompressedSize: bomb.size }]),
        'E_ZIP_RATIO',
        { maxFileBytes: 128 * MiB },
      )
    })
    it('an entry that inflates past its declared size → E_ZIP_CORRUPT', () => {
      const [name, data] = [...notesEntries].find(([n]) => n.startsWith('storage/'))!
      return refused(rawZip([...[...notesEntries].filter(([n]) => n !== name).map(([n, d]) => ({ name: n, data: d })), { name, data, uncompressedSize: 10 }]), 'E_ZIP_CORRUPT')
    })
    it('a local header that names another file → E_ZIP_CORRUPT', () =>
      refused(rawZip([...notesEntries].map(([name, data]) => ({ name, data, localName: name === 'manifest.json' ? 'manifest.jsoN' : undefined }))), 'E_ZIP_CORRUPT'))
    it('not a zip at all → E_ZIP_CORRUPT', () => refused(enc('this is not a zip file, just text that is long enough to look for one'), 'E_ZIP_CORRUPT'))
  })

  describe('the manifest', () => {
    it('no manifest.json → E_MANIFEST_MISSING', () => refused(edited((e) => e.delete('manifest.json')), 'E_MANIFEST_MISSING'))
    it('manifest.json that is not JSON → E_MANIFEST_JSON', () => refused(edited((e) => e.set('manifest.json', enc('{"manifestVersion": 1,'))), 'E_MANIFEST_JSON'))
    it('manifestVersion 2 → E_MANIFEST_VERSION', () =>
      refused(edited((e) => e.set('manifest.json', json({ ...manifestOf(e), manifestVersion: 2 }))), 'E_MANIFEST_VERSION'))
    it('no version → E_SCHEMA', () =>
      refused(
        edited((e) => {
          const { version: _dropped, ...rest } = manifestOf(e)
          e.set('manifest.json', json(rest))
        }),
        'E_SCHEMA',
      ))
    it('entrypoints that are not strings → E_SCHEMA', () => refused(edited((e) => e.set('manifest.json', json({ ...manifestOf(e), entrypoints: [1] }))), 'E_SCHEMA'))
    it('a rootId that is no document id → E_TONK_DOC_ID', () =>
      refused(edited((e) => e.set('manifest.json', json({ ...manifestOf(e), rootId: '../../etc' }))), 'E_TONK_DOC_ID'))
    it('a rootId with no document in storage/ → E_TONK_ROOT_MISSING', () =>
      refused(edited((e) => e.set('manifest.json', json({ ...manifestOf(e), rootId: fixedId('nobody') }))), 'E_TONK_ROOT_MISSING'))
  })

  describe('storage/ and the snapshots', () => {
    const firstDoc = (e: Map<string, Uint8Array>) => [...e.keys()].find((n) => n.startsWith('storage/'))!
    it('a snapshot that is not an Automerge document → E_TONK_SNAPSHOT', () =>
      refused(edited((e) => e.set(firstDoc(e), enc('definitely not automerge'))), 'E_TONK_SNAPSHOT'))
    it('an empty snapshot → E_TONK_SNAPSHOT', () => refused(edited((e) => e.set(firstDoc(e), new Uint8Array(0))), 'E_TONK_SNAPSHOT'))
    it('a snapshot cut short → E_TONK_SNAPSHOT', () => refused(edited((e) => e.set(firstDoc(e), e.get(firstDoc(e))!.subarray(0, 40))), 'E_TONK_SNAPSHOT'))
    it('a storage path whose id is not a document id (one character changed) → E_TONK_DOC_ID', () =>
      refused(
        edited((e) => {
          const name = firstDoc(e)
          const data = e.get(name)!
          e.delete(name)
          const id = name.split('/')[1]! + name.split('/')[2]!
          const changed = id.slice(0, -1) + (id.endsWith('a') ? 'b' : 'a')
          e.set(snapshotEntryName(changed), data)
        }),
        'E_TONK_DOC_ID',
      ))
    it('a storage path that is not splayed into 2 characters → E_TONK_STORAGE_PATH', () =>
      refused(
        edited((e) => {
          const name = firstDoc(e)
          const [, a, b, ...rest] = name.split('/')
          e.delete(name)
          e.set(['storage', a! + b!.slice(0, 1), b!.slice(1), ...rest].join('/'), notesEntries.get(name)!)
        }),
        'E_TONK_STORAGE_PATH',
      ))
    it('a storage entry outside <id>/snapshot|incremental/<name> → E_TONK_STORAGE_PATH', () =>
      refused(edited((e) => e.set('storage/3X/4Q62EiCtGYZ5W1RsLMSZV8WPRZ/bundle_export', enc('x'))), 'E_TONK_STORAGE_PATH'))
    it('an entry outside manifest.json and storage/ is a warning only, and not written back', async () => {
      const zip = edited((e) => e.set('README.txt', enc('hello')))
      const report = await validateTonkFile(zip)
      assert.deepEqual(report.issues.map((i) => [i.code, i.severity]), [['E_TONK_UNKNOWN_ENTRY', 'warning']])
      const rewritten = await writeTonk({ manifest: report.loaded!.manifest, documents: report.loaded!.documents })
      assert.equal(unzipEntries(rewritten).has('README.txt'), false)
    })
  })

  describe('the VFS', () => {
    const files: HandFile[] = [
      { path: '/app/index.html', bytes: enc('<p>x</p>'), mime: 'text/html' },
      { path: '/data/a.json', content: { a: 1 } },
    ]
    const tamperRoot = (edit: (d: any, ids: Map<string, string>) => void): HandOptions['tamper'] => (docs, ids) => {
      const rootId = [...docs.keys()].find((id) => ![...ids.values()].includes(id))!
      docs.set(rootId, Automerge.change(docs.get(rootId)!, (d: any) => edit(d, ids)))
    }
    const S = (s: string) => new Automerge.ImmutableString(s)
    const entry = (docId: string, type: string) => ({ doc_id: S(docId), node_type: S(type), created: 1, modified: 1 })

    it('a root document that is no PathIndex → E_TONK_VFS', async () => {
      const { rootId, documents, ids } = await handMadeTonk(files, { layout: 'entries' })
      documents.set(rootId, documents.get(ids.get('/data/a.json')!)!)
      await refused(zipOf(notesAppManifest(rootId), documents), 'E_TONK_VFS')
    })
    it('a legacy path_index that is not JSON → E_TONK_VFS', async () =>
      refused(await handZip(files, { layout: 'path_index-json', tamper: tamperRoot((d) => (d.path_index = S('{"paths": '))) }), 'E_TONK_VFS'))
    it('an index path that climbs out ("/../../etc/passwd") → E_TONK_PATH', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d, ids) => (d.entries['/../../etc/passwd'] = entry(ids.get('/data/a.json')!, 'document'))) }), 'E_TONK_PATH'))
    it('a relative index path → E_TONK_PATH', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d, ids) => (d.entries['data/b.json'] = entry(ids.get('/data/a.json')!, 'document'))) }), 'E_TONK_PATH'))
    it('an index path with a NUL → E_TONK_PATH', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d, ids) => (d.entries['/data/b\u0000.json'] = entry(ids.get('/data/a.json')!, 'document'))) }), 'E_TONK_PATH'))
    it('an entry whose document is not in the file → E_TONK_DOC_MISSING', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d) => (d.entries['/data/b.json'] = entry(fixedId('absent'), 'document'))) }), 'E_TONK_DOC_MISSING'))
    it('an entry whose doc_id is no document id → E_TONK_DOC_ID', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d) => (d.entries['/data/b.json'] = entry('../../x', 'document'))) }), 'E_TONK_DOC_ID'))
    it('an entry of an unknown node type → E_TONK_VFS', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d, ids) => (d.entries['/data/b.json'] = entry(ids.get('/data/a.json')!, 'symlink'))) }), 'E_TONK_VFS'))
    it('a document the index calls a directory → E_TONK_NODE_TYPE', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d, ids) => (d.entries['/data/b'] = entry(ids.get('/data/a.json')!, 'directory'))) }), 'E_TONK_NODE_TYPE'))
    it('a file inside a file → E_TONK_VFS', async () =>
      refused(await handZip(files, { layout: 'entries', tamper: tamperRoot((d, ids) => (d.entries['/data/a.json/x'] = entry(ids.get('/app/index.html')!, 'document'))) }), 'E_TONK_VFS'))
    it('content nested deeper than the reader walks → E_TONK_VFS', async () => {
      let deep: unknown = 1
      for (let i = 0; i < 300; i++) deep = { d: deep }
      await refused(await handZip([{ path: '/deep.json', content: deep as object }], { layout: 'entries' }), 'E_TONK_VFS')
    })
  })

  describe('unpack', () => {
    it('writes every VFS file and folder: bytes as they are, JSON content as JSON, text as text', async () => {
      const out = join(tempDir('tonk-unpack-'), 'out')
      const result = await unpackTonk(await loadTonk(notesApp), out)
      assert.deepEqual(result.files, ['/app/assets/logo.png', '/app/index.html', '/app/main.js', '/notes/todo.txt', '/notes/welcome.json'])
      assert.deepEqual(result.directories, ['/app', '/app/assets', '/notes'])
      assert.match(readFileSync(join(out, 'app', 'index.html'), 'utf8'), /<title>Notes<\/title>/)
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'notes', 'welcome.json'), 'utf8')), { title: 'Welcome', tags: ['tonk', 'p2p'], pinned: true })
      assert.equal(readFileSync(join(out, 'notes', 'todo.txt'), 'utf8'), 'water the plants\n')
      assert.equal(readFileSync(join(out, 'app', 'assets', 'logo.png')).length, 16)
    })

    async function refusedUnpack(zip: Uint8Array, prepare?: (out: string) => void): Promise<{ out: string; error: BundleError }> {
      const parent = tempDir('tonk-unpack-')
      const out = join(parent, 'out')
      prepare?.(out)
      const before = existsSync(out) ? readdirSync(out, { recursive: true }).map(String).sort() : undefined
      const tonk = await loadTonk(zip)
      const error = await unpackTonk(tonk, out).then(
        () => assert.fail('unpack should refuse'),
        (e: unknown) => e,
      )
      assert.ok(error instanceof BundleError, String(error))
      assert.equal(error.code, 'E_EXTRACT_UNSAFE', error.message)
      if (before === undefined) assert.deepEqual(readdirSync(parent), [], 'not even the folder is made')
      else assert.deepEqual(readdirSync(out, { recursive: true }).map(String).sort(), before, 'nothing is added')
      return { out, error }
    }

    it('refuses a name with ":" (a Windows stream) and writes nothing', async () => {
      const zip = await handZip([{ path: '/notes/10:30.txt', content: 'meeting' }], { layout: 'entries' })
      const { error } = await refusedUnpack(zip)
      assert.match(error.message, /10:30/)
    })
    it('refuses two names that are one file on case-insensitive disks', async () => {
      const zip = await handZip([{ path: '/Notes.txt', content: 'a' }, { path: '/notes.txt', content: 'b' }], { layout: 'entries' })
      await refusedUnpack(zip)
    })
    it('refuses to overwrite an existing file, and writes none of the others', async () => {
      const { out } = await refusedUnpack(notesApp, (dir) => {
        mkdirSync(join(dir, 'notes'), { recursive: true })
        writeFileSync(join(dir, 'notes', 'todo.txt'), 'mine')
      })
      assert.equal(readFileSync(join(out, 'notes', 'todo.txt'), 'utf8'), 'mine')
    })
    it('refuses to write through a symlinked folder', async () => {
      const elsewhere = tempDir('tonk-elsewhere-')
      await refusedUnpack(notesApp, (dir) => {
        mkdirSync(dir, { recursive: true })
        symlinkSync(elsewhere, join(dir, 'app'))
      })
      assert.deepEqual(readdirSync(elsewhere), [])
    })
  })

  describe('the writer refuses what the reader would', () => {
    async function writeRefused(contents: Parameters<typeof writeTonk>[0], code: BundleErrorCode) {
      await assert.rejects(writeTonk(contents), (e: unknown) => e instanceof BundleError && e.code === code)
    }
    it('a missing root → E_TONK_ROOT_MISSING', async () => {
      const { rootId, documents } = await handMadeTonk([{ path: '/a.json', content: {} }], { layout: 'entries' })
      documents.delete(rootId)
      await writeRefused({ manifest: notesAppManifest(rootId), documents }, 'E_TONK_ROOT_MISSING')
    })
    it('a bad document id → E_TONK_DOC_ID', async () => {
      const { rootId, documents } = await handMadeTonk([{ path: '/a.json', content: {} }], { layout: 'entries' })
      await writeRefused({ manifest: notesAppManifest(rootId), documents: new Map([...documents, ['../x', documents.get(rootId)!]]) }, 'E_TONK_DOC_ID')
    })
    it('bytes that are no Automerge document → E_TONK_SNAPSHOT', async () => {
      const { rootId, documents } = await handMadeTonk([{ path: '/a.json', content: {} }], { layout: 'entries' })
      await writeRefused({ manifest: notesAppManifest(rootId), documents: new Map<string, Doc | Uint8Array>([...documents, [fixedId('junk'), enc('junk')]]) }, 'E_TONK_SNAPSHOT')
    })
    it('a VFS with a climbing path → E_TONK_PATH', async () => {
      const { rootId, documents } = await handMadeTonk([{ path: '/a.json', content: {} }], {
        layout: 'entries',
        tamper: (docs, ids) => {
          const root = [...docs.keys()].find((id) => ![...ids.values()].includes(id))!
          docs.set(root, Automerge.change(docs.get(root)!, (d: any) => (d.entries['/../a'] = { doc_id: new Automerge.ImmutableString(ids.get('/a.json')!), node_type: new Automerge.ImmutableString('document') })))
        },
      })
      await writeRefused({ manifest: notesAppManifest(rootId), documents }, 'E_TONK_PATH')
    })
  })
})
