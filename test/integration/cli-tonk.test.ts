// validate / inspect / unpack on .tonk files as a user runs them: the built CLI (npm run build first) in
// its own process, real files on disk.
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unzipSync } from 'fflate'
import { runCli } from '../helpers/cli'
import { rawZip } from '../helpers/raw-zip'
import { FIXTURE_DIR } from '../helpers/tonk-fixtures'

const notesApp = join(FIXTURE_DIR, 'notes-app.tonk')
const legacy = join(FIXTURE_DIR, 'legacy-layout.tonk')
const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, `a stack trace leaked:\n${text}`)

describe('tonk-p2p on .tonk files (built CLI, separate process)', function () {
  this.timeout(60000)
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tonk-cli-tonk-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('validate: exit 0 and a one-line verdict on both fixtures', async () => {
    for (const file of [notesApp, legacy]) {
      const r = await runCli(['validate', file])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /valid \.tonk \(\d+ files, \d+ folders\)/)
    }
    const json = JSON.parse((await runCli(['--json', 'validate', notesApp])).stdout)
    assert.deepEqual([json.ok, json.format, json.files, json.directories, json.issues], [true, 'tonk', 5, 3, []])
  })

  it('inspect: manifest, rootId, entrypoints and the VFS tree with sizes and mime types', async () => {
    const r = await runCli(['inspect', notesApp])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /rootId\s+[1-9A-HJ-NP-Za-km-z]{20,}/)
    assert.match(r.stdout, /entrypoints\s+app → \/app\/index\.html/)
    assert.match(r.stdout, /PathIndex "entries"/)
    assert.match(r.stdout, /\/app\/\s+-\s+directory/)
    assert.match(r.stdout, /\/app\/index\.html\s+83\s+text\/html/)
    assert.match(r.stdout, /\/notes\/welcome\.json\s+82\s+application\/json/)
    const json = JSON.parse((await runCli(['inspect', notesApp, '--json'])).stdout)
    assert.equal(json.rootId, json.manifest.rootId)
    assert.equal(json.layout, 'entries')
    assert.deepEqual(json.entrypoints, [{ entrypoint: 'app', resolves: '/app/index.html' }])
    const page = json.tree.find((n: { path: string }) => n.path === '/app/assets/logo.png')
    assert.deepEqual([page.type, page.size, page.mime, page.hasBytes], ['document', 16, 'image/png', true])
    const legacyOut = await runCli(['inspect', legacy])
    assert.equal(legacyOut.code, 0, legacyOut.stderr)
    assert.match(legacyOut.stdout, /"path_index" JSON string/)
    assert.match(legacyOut.stdout, /\/state\/counter\.json\s+17\s+application\/json/)
  })

  it('unpack: the VFS files on disk; a second unpack into the same folder refuses and changes nothing', async () => {
    const out = join(dir, 'notes')
    const r = await runCli(['--json', 'unpack', notesApp, '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout).files, ['/app/assets/logo.png', '/app/index.html', '/app/main.js', '/notes/todo.txt', '/notes/welcome.json'])
    assert.equal(readFileSync(join(out, 'notes', 'todo.txt'), 'utf8'), 'water the plants\n')
    assert.match(readFileSync(join(out, 'app', 'index.html'), 'utf8'), /<title>Notes<\/title>/)
    writeFileSync(join(out, 'notes', 'todo.txt'), 'edited by me')
    const again = await runCli(['unpack', notesApp, '-o', out])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /E_EXTRACT_UNSAFE/)
    noStack(again.stderr)
    assert.equal(readFileSync(join(out, 'notes', 'todo.txt'), 'utf8'), 'edited by me')
  })

  it('a hostile .tonk: typed error, exit 1, no stack trace, nothing written, for each command', async () => {
    // Every command on the two cases that reach furthest (the zip reader, the snapshots); validate on all.
    const cases: Array<[string, Uint8Array, RegExp, boolean]> = [
      ['slip.tonk', rawZip([{ name: 'manifest.json', data: Buffer.from('{}') }, { name: '../x', data: Buffer.from('pwned') }]), /E_ZIP_SLIP/, true],
      ['junk-snapshot.tonk', junkSnapshot(), /E_TONK_SNAPSHOT/, true],
      ['nomanifest.tonk', rawZip([{ name: 'storage/ab/cdef/snapshot/bundle_export', data: Buffer.from('x') }]), /E_MANIFEST_MISSING/, false],
      ['not-a-zip.tonk', Buffer.from('hello, this is not a zip file at all; no end of central directory here'), /E_ZIP_CORRUPT/, false],
    ]
    await Promise.all(
      cases.map(async ([name, bytes, code, everyCommand]) => {
        const work = join(dir, 'hostile', name.replace('.tonk', ''))
        mkdirSync(work, { recursive: true })
        const file = join(work, name)
        writeFileSync(file, bytes)
        const commands = everyCommand ? [['validate', file], ['inspect', file], ['unpack', file, '-o', join(work, 'out')]] : [['--json', 'validate', file]]
        for (const args of commands) {
          const r = await runCli(args, { cwd: work })
          assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout} ${r.stderr}`)
          assert.match(r.stderr, code, `${args.join(' ')}`)
          noStack(r.stderr)
          if (args[0] === '--json') assert.equal(JSON.parse(r.stdout).ok, false)
        }
        assert.deepEqual(readdirSync(work), [name], `${name}: nothing written`)
      }),
    )
  })

  it('a missing file is a usage error (exit 2), not a crash', async () => {
    const r = await runCli(['inspect', join(dir, 'absent.tonk')])
    assert.equal(r.code, 2, r.stderr)
    noStack(r.stderr)
  })

  it('recognizes .tonk by its extension in any case (NOTES.TONK)', async () => {
    const copy = join(dir, 'NOTES.TONK')
    copyFileSync(notesApp, copy)
    const r = await runCli(['validate', copy])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /valid \.tonk/)
  })
})

/** The notes app with its first snapshot replaced by bytes that are no Automerge document. */
function junkSnapshot(): Uint8Array {
  const entries = new Map(Object.entries(unzipSync(readFileSync(notesApp))))
  const first = [...entries.keys()].find((n) => n.startsWith('storage/'))!
  entries.set(first, Buffer.from('definitely not automerge'))
  return rawZip([...entries].map(([name, data]) => ({ name, data })))
}

