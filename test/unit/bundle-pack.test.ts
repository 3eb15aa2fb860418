import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import {
  BundleError,
  computeBundleId,
  extractBundle,
  inspectDirectory,
  loadBundle,
  packDirectory,
  validateDirectory,
  type BundleErrorCode,
} from '../../src/core/bundle'
import { cleanupTemp, DEFAULT_FILES, parseJson, sourceManifest, tempDir, unzipEntries, writeSourceDir } from '../helpers/bundle-fixtures'

async function packFails(dir: string, code: BundleErrorCode, opts = {}): Promise<BundleError> {
  try {
    await packDirectory(dir, opts)
  } catch (error) {
    assert.ok(error instanceof BundleError, String(error))
    assert.equal(error.code, code, error.message)
    return error
  }
  assert.fail(`pack should fail with ${code}`)
}

describe('packDirectory', () => {
  after(cleanupTemp)

  it('writes a zip with tonk.json first, files sorted, the root document and a verified bundleId', async () => {
    const dir = writeSourceDir()
    const { zip, manifest, bundleId } = await packDirectory(dir)
    const entries = unzipEntries(zip)
    assert.deepEqual([...entries.keys()], ['tonk.json', '.tonk/root.automerge', 'css/site.css', 'img/logo.png', 'index.html', 'js/app.js'])
    assert.deepEqual(parseJson(entries.get('tonk.json')!), manifest)
    assert.deepEqual(manifest.files.map((f) => [f.path, f.length, f.contentType]), [
      ['/.tonk/root.automerge', entries.get('.tonk/root.automerge')!.length, 'application/octet-stream'],
      ['/css/site.css', 19, 'text/css'],
      ['/img/logo.png', 7, 'image/png'],
      ['/index.html', (DEFAULT_FILES['index.html'] as string).length, 'text/html'],
      ['/js/app.js', 21, 'text/javascript'],
    ])
    assert.deepEqual(manifest.sync.rootDocument, { documentId: rootDocumentId('my-world'), path: '/.tonk/root.automerge' })
    assert.deepEqual(entries.get('.tonk/root.automerge'), await createRootDocumentBytes('my-world'))
    assert.deepEqual(manifest.sync.discovery, { mdnsService: '_tonk-sync._udp', bootstrapPeers: [] })
    assert.equal(manifest.sync.bundleId, bundleId)
    const files = new Map([...entries].filter(([n]) => n !== 'tonk.json').map(([n, d]) => [`/${n}`, d]))
    assert.equal(computeBundleId(manifest, files), bundleId)
    assert.equal((await loadBundle(zip)).bundleId, bundleId)
  })

  it('is deterministic: same folder → identical bytes, in any time zone, with any file mtimes', async () => {
    const a = await packDirectory(writeSourceDir())
    const tz = process.env.TZ
    try {
      process.env.TZ = 'Pacific/Kiritimati' // UTC+14
      const dir = writeSourceDir()
      const b = await packDirectory(dir)
      process.env.TZ = 'America/Adak' // UTC-10, with DST
      writeFileSync(join(dir, 'index.html'), DEFAULT_FILES['index.html']!) // new mtime
      const c = await packDirectory(dir)
      assert.deepEqual(b.zip, a.zip)
      assert.deepEqual(c.zip, a.zip)
    } finally {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
    }
  })

  it('keeps root files named like array indexes or __proto__ in order', async () => {
    const { zip } = await packDirectory(writeSourceDir({ ...DEFAULT_FILES, '404': 'x', __proto__x: 'y', ['__proto__']: 'z' } as any))
    const names = [...unzipEntries(zip).keys()]
    assert.equal(names[0], 'tonk.json')
    assert.deepEqual(names, ['tonk.json', '.tonk/root.automerge', '404', '__proto__', '__proto__x', 'css/site.css', 'img/logo.png', 'index.html', 'js/app.js'])
    assert.equal((await loadBundle(zip)).files.get('/__proto__')?.length, 1)
  })

  it('keeps a root document the folder already has', async () => {
    const custom = new Uint8Array([1, 2, 3])
    const { manifest, zip } = await packDirectory(writeSourceDir({ ...DEFAULT_FILES, '.tonk/root.automerge': custom }))
    assert.deepEqual(unzipEntries(zip).get('.tonk/root.automerge'), custom)
    assert.equal(manifest.files[0]!.length, 3)
  })

  it('skips tonk.json, node_modules, .git, zips, .DS_Store, .tonkignore patterns and opts.ignore', async () => {
    const dir = writeSourceDir({
      ...DEFAULT_FILES,
      'node_modules/x/index.js': '1',
      'sub/node_modules/y.js': '1',
      '.git/HEAD': 'ref',
      'old.zip': 'PK',
      '.DS_Store': '',
      'sub/.DS_Store': '',
      'sub/tonk.json': '{}', // a folder with its own tonk.json is another bundle: left out whole
      'notes.tmp': '',
      'sub/a.tmp': '',
      'build/out.js': '',
      'src/build/keep.js': '', // "/build" is anchored: this one stays
      'cache/x': '',
      'cache.txt': '', // "cache/" matches folders only
      'secret.key': '',
      'draft.md': '',
    })
    writeFileSync(join(dir, '.tonkignore'), '# comment\n\n*.tmp\n/build\ncache/\nsecret.key  \n')
    const { manifest } = await packDirectory(dir, { ignore: ['draft.md'] })
    assert.deepEqual(
      manifest.files.map((f) => f.path),
      ['/.tonk/root.automerge', '/cache.txt', '/css/site.css', '/img/logo.png', '/index.html', '/js/app.js', '/src/build/keep.js'],
    )
  })

  it('.tonkignore has gitignore semantics: "!" negation, "**", "[]" classes, "\\" escapes', async () => {
    const dir = writeSourceDir({
      ...DEFAULT_FILES,
      'logs/a.log': '',
      'logs/keep.log': '', // "!keep.log" brings it back
      'deep/x/tmp/t.js': '', // "**/tmp/" at any depth
      'deep/y/z.o': '', // "*.[ao]"
      'deep/y/z.c': '',
      'a/m/n/b/f.js': '', // "a/**/b"
      '#hash.txt': '', // "\#hash.txt" is a file name, not a comment
      'Upper.LOG': '', // case-sensitive: "*.log" leaves it
      'node_modules/keep.log': '', // a "!" line cannot bring back a default ignore
    })
    writeFileSync(join(dir, '.tonkignore'), '*.log\n!keep.log\n**/tmp/\n*.[ao]\na/**/b\n\\#hash.txt\n')
    const { manifest } = await packDirectory(dir)
    const paths = manifest.files.map((f) => f.path)
    assert.deepEqual(
      paths.filter((p) => !Object.keys(DEFAULT_FILES).some((k) => p === `/${k}`)),
      ['/.tonk/root.automerge', '/Upper.LOG', '/deep/y/z.c', '/logs/keep.log'],
    )
    // Deterministic: the same folder packs to the same bytes.
    assert.deepEqual((await packDirectory(dir)).zip, (await packDirectory(dir)).zip)
  })

  it('E_IGNORE_SYNTAX for a .tonkignore line that can match nothing', async () => {
    for (const line of ['/', '!']) {
      const dir = writeSourceDir()
      writeFileSync(join(dir, '.tonkignore'), `ok\n${line}\n`)
      const error = await packFails(dir, 'E_IGNORE_SYNTAX')
      assert.match(error.message, /\.tonkignore:2/)
    }
  })

  it('E_SOURCE_SYMLINK: refuses symlinks (file or folder) with the path in the message', async () => {
    const outside = tempDir()
    writeFileSync(join(outside, 'secret'), 'x')
    const dir = writeSourceDir()
    symlinkSync(join(outside, 'secret'), join(dir, 'js', 'linked.js'))
    const error = await packFails(dir, 'E_SOURCE_SYMLINK')
    assert.equal(error.path, '/js/linked.js')
    assert.match(error.message, /"\/js\/linked.js" is a symbolic link/)
    const dir2 = writeSourceDir()
    symlinkSync(outside, join(dir2, 'assets'))
    await packFails(dir2, 'E_SOURCE_SYMLINK')
    // An ignored symlink is fine (e.g. a linked node_modules).
    const dir3 = writeSourceDir()
    symlinkSync(outside, join(dir3, 'node_modules'))
    await packDirectory(dir3)
  })

  it('E_MANIFEST_MISSING, E_MANIFEST_JSON and manifest errors from the source', async () => {
    await packFails(tempDir(), 'E_MANIFEST_MISSING')
    await packFails(writeSourceDir(DEFAULT_FILES, '{"name": '), 'E_MANIFEST_JSON')
    await packFails(writeSourceDir(DEFAULT_FILES, sourceManifest({ version: 'latest' })), 'E_SEMVER')
    await packFails(writeSourceDir(DEFAULT_FILES, sourceManifest({ entrypoints: ['/missing.html'] })), 'E_ENTRYPOINT_MISSING')
    await packFails(writeSourceDir(DEFAULT_FILES, sourceManifest({ bogus: 1 })), 'E_SCHEMA')
  })

  it('E_PATH_INVALID / E_PATH_DUPLICATE for folder names that are not portable bundle paths', async () => {
    const bad = await packFails(writeSourceDir({ ...DEFAULT_FILES, 'a\\b.js': '' }), 'E_PATH_INVALID')
    assert.equal(bad.path, '/a\\b.js')
    await packFails(writeSourceDir({ ...DEFAULT_FILES, 'x:y.js': '' }), 'E_PATH_INVALID')
    await packFails(writeSourceDir({ ...DEFAULT_FILES, 'Logo.PNG': '', 'logo.png': '' }), 'E_PATH_DUPLICATE')
  })
})

describe('validateDirectory', () => {
  after(cleanupTemp)

  it('returns the manifest pack would write and no issues for a fresh folder', async () => {
    const dir = writeSourceDir()
    const report = await validateDirectory(dir)
    assert.deepEqual(report.issues, [])
    assert.deepEqual(report.manifest, (await packDirectory(dir)).manifest)
  })

  it('reports stale files and bundleId as warnings with their own codes; pack still works', async () => {
    const dir = writeSourceDir()
    const { manifest } = await packDirectory(dir)
    writeFileSync(join(dir, 'tonk.json'), JSON.stringify(manifest, null, 2))
    assert.deepEqual((await validateDirectory(dir)).issues, [], 'a folder with an up-to-date packed manifest is clean')

    writeFileSync(join(dir, 'js/app.js'), 'console.log("changed!!")\n')
    writeFileSync(join(dir, 'extra.txt'), 'new')
    const { issues } = await validateDirectory(dir)
    assert.deepEqual(
      issues.map((i) => [i.code, i.severity, i.pointer, i.path ?? null]),
      [
        ['E_FILES_STALE', 'warning', '/files/4/length', '/js/app.js'],
        ['E_FILES_STALE', 'warning', '/files', '/extra.txt'],
        ['E_BUNDLE_ID_STALE', 'warning', '/sync/bundleId', null],
      ],
    )
    assert.match(issues[0]!.message, /"\/js\/app.js": 25 bytes in the folder but files says 21/)
    const repacked = await packDirectory(dir)
    assert.notEqual(repacked.bundleId, manifest.sync.bundleId)
  })

  it('warns when the folder has no appKey (each build its own app), and init --app-key gives it one that pack keeps', async () => {
    const { addAppKey } = await import('../../src/core/bundle/new-bundle')
    const manifest = sourceManifest() as { sync: Record<string, unknown> }
    delete manifest.sync.appKey
    const dir = writeSourceDir(DEFAULT_FILES, manifest)
    const before = await validateDirectory(dir)
    assert.deepEqual(before.issues.map((i) => `${i.code}:${i.severity}`), ['E_APP_KEY_MISSING:warning'])
    const key = await addAppKey(dir)
    await assert.rejects(addAppKey(dir), /already has an appKey/)
    const after = await validateDirectory(dir)
    assert.deepEqual(after.issues, [])
    assert.equal((await loadBundle((await packDirectory(dir)).zip)).manifest.sync.appKey, key)
  })

  it('reports a rootDocument that no longer matches the namespace', async () => {
    const dir = writeSourceDir()
    const { manifest } = await packDirectory(dir)
    manifest.sync.namespace = 'renamed'
    writeFileSync(join(dir, 'tonk.json'), JSON.stringify(manifest))
    const codes = (await validateDirectory(dir)).issues.map((i) => `${i.code}:${i.severity}`)
    assert.deepEqual(codes, ['E_ROOT_DOCUMENT:warning', 'E_BUNDLE_ID_STALE:warning'])
  })

  it('collects instead of throwing, and keeps pointers into the authored tonk.json', async () => {
    const dir = writeSourceDir(DEFAULT_FILES, sourceManifest({ version: '1', entrypoints: ['/nope.html'] }))
    const report = await validateDirectory(dir)
    assert.equal(report.manifest, undefined)
    // Every problem in one pass: the schema error and the folder's missing entrypoint.
    assert.deepEqual(report.issues.map((i) => [i.code, i.pointer]), [['E_SEMVER', '/version'], ['E_ENTRYPOINT_MISSING', '/entrypoints/0']])
    const dir2 = writeSourceDir(DEFAULT_FILES, sourceManifest({ entrypoints: ['/nope.html'] }))
    const report2 = await validateDirectory(dir2)
    assert.deepEqual(report2.issues.map((i) => [i.code, i.pointer]), [['E_ENTRYPOINT_MISSING', '/entrypoints/0']])
    assert.ok(report2.manifest)
  })

  it('leaves a nested bundle folder out of the pack, with a warning', async () => {
    const dir = writeSourceDir({ ...DEFAULT_FILES, 'examples/other/tonk.json': JSON.stringify(sourceManifest()), 'examples/other/index.html': '<p>other</p>' })
    const { issues, manifest } = await validateDirectory(dir)
    assert.deepEqual(issues.map((i) => [i.code, i.severity, i.path]), [['E_NESTED_BUNDLE', 'warning', '/examples/other']])
    assert.ok(!manifest!.files.some((f) => f.path.startsWith('/examples/')), 'nothing of the nested bundle is packed')
  })

  it('says the root document is part of the bundle, not "in the folder", when the files list lacks it', async () => {
    const dir = writeSourceDir()
    const { manifest } = await packDirectory(dir)
    manifest.files = manifest.files.filter((f) => f.path !== '/.tonk/root.automerge')
    writeFileSync(join(dir, 'tonk.json'), JSON.stringify(manifest))
    const stale = (await validateDirectory(dir)).issues.find((i) => i.path === '/.tonk/root.automerge')!
    assert.equal(stale.message, '"/.tonk/root.automerge" is part of the bundle (pack adds the root document) but not listed in files')
  })

  it('inspectDirectory exposes the files pack would write', async () => {
    const { files } = await inspectDirectory(writeSourceDir())
    assert.equal(new TextDecoder().decode(files.get('/js/app.js')), 'console.log("hello")\n')
  })
})

describe('extract then pack', () => {
  after(cleanupTemp)

  it('round-trips: an extracted bundle packs back to identical bytes', async () => {
    const first = await packDirectory(writeSourceDir({ ...DEFAULT_FILES, 'deep/er/still/x.wasm': new Uint8Array([0, 97, 115, 109]) }))
    const out = join(tempDir(), 'unpacked')
    await extractBundle(await loadBundle(first.zip), out)
    assert.equal(JSON.parse(readFileSync(join(out, 'tonk.json'), 'utf8')).sync.bundleId, first.bundleId)
    const second = await packDirectory(out)
    assert.deepEqual(second.zip, first.zip)
    assert.deepEqual((await validateDirectory(out)).issues, [])
  })

  it('refuses to write into a folder that already has the files or through a symlinked folder', async () => {
    const { zip } = await packDirectory(writeSourceDir())
    const bundle = await loadBundle(zip)
    const out = tempDir()
    await extractBundle(bundle, out)
    await assert.rejects(extractBundle(bundle, out), (e: BundleError) => e.code === 'E_EXTRACT_UNSAFE')
    const out2 = tempDir()
    const elsewhere = tempDir()
    symlinkSync(elsewhere, join(out2, 'js'))
    await assert.rejects(extractBundle(bundle, out2), (e: BundleError) => e.code === 'E_EXTRACT_UNSAFE' && /symbolic link/.test(e.message))
    assert.deepEqual(readFileSync(join(out2, 'tonk.json')).length > 0, true)
    mkdirSync(join(elsewhere, 'probe'))
  })
})
