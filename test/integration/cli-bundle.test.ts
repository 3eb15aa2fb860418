// The bundle commands as a user runs them: the built CLI in its own process, real files on disk.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unzipSync, zipSync } from 'fflate'
import { runCli, repoRoot } from '../helpers/cli'
import { rawZip } from '../helpers/raw-zip'

const example = join(repoRoot, 'examples', 'my-world')
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

describe('tonk-p2p bundle commands (built CLI, separate process)', function () {
  this.timeout(60000)
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tonk-cli-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('packs examples/my-world twice into byte-identical zips', async () => {
    const a = await runCli(['pack', example, '-o', join(dir, 'a.zip')])
    const b = await runCli(['pack', example, '-o', join(dir, 'b.zip')])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    assert.equal(sha256(join(dir, 'a.zip')), sha256(join(dir, 'b.zip')))
    assert.match(a.stdout, /bundleId\s+[0-9a-f]{64}/)
  })

  it('validate exits 0 on the packed example and on its folder', async () => {
    const zip = await runCli(['validate', join(dir, 'a.zip')])
    assert.equal(zip.code, 0, zip.stderr)
    assert.match(zip.stdout, /valid/)
    const folder = await runCli(['validate', example])
    assert.equal(folder.code, 0, folder.stderr)
  })

  it('validate exits 1 on a tampered copy, naming the file', async () => {
    const entries = unzipSync(readFileSync(join(dir, 'a.zip')))
    const app = entries['app.js']!
    app[20] = app[20]! ^ 0x01 // same length, one bit flipped
    const tampered = join(dir, 'tampered.zip')
    writeFileSync(tampered, zipSync(entries))
    const r = await runCli(['validate', tampered])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /E_BUNDLE_ID_MISMATCH|E_FILE_HASH/)
    assert.match(r.stderr, /tampered\.zip|\/app\.js/)
    const json = await runCli(['--json', 'validate', tampered])
    assert.equal(json.code, 1)
    assert.equal(JSON.parse(json.stdout).ok, false)
  })

  it('refuses a zip with an entry ../x and writes nothing', async () => {
    const work = join(dir, 'slip', 'inside')
    mkdirSync(work, { recursive: true })
    const evil = join(dir, 'slip', 'evil.zip')
    writeFileSync(evil, rawZip([{ name: 'tonk.json', data: Buffer.from('{}') }, { name: '../x', data: Buffer.from('pwned') }]))
    const before = readdirSync(join(dir, 'slip')).sort()
    for (const args of [['validate', evil], ['inspect', evil], ['unpack', evil, '-o', work]]) {
      const r = await runCli(args, { cwd: work })
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`)
      assert.match(r.stderr, /E_ZIP_SLIP/)
    }
    assert.deepEqual(readdirSync(join(dir, 'slip')).sort(), before)
    assert.deepEqual(readdirSync(work), [])
  })

  it('inspect shows the manifest, the file table and the verified bundleId', async () => {
    const r = await runCli(['inspect', join(dir, 'a.zip')])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /my-world@0\.1\.0/)
    assert.match(r.stdout, /\(verified\)/)
    assert.match(r.stdout, /\/index\.html\s+\d+\s+text\/html/)
    const json = JSON.parse((await runCli(['--json', 'inspect', join(dir, 'a.zip')])).stdout)
    assert.equal(json.manifest.name, 'my-world')
    assert.match(json.bundleId, /^[0-9a-f]{64}$/)
  })

  it('unpacks a bundle into a folder that packs back to the same bundleId', async () => {
    const out = join(dir, 'unpacked')
    const r = await runCli(['--json', 'unpack', join(dir, 'a.zip'), '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(readdirSync(out).includes('index.html'))
    const repacked = JSON.parse((await runCli(['--json', 'pack', out, '-o', join(dir, 'repacked.zip')])).stdout)
    assert.equal(repacked.bundleId, JSON.parse(r.stdout).bundleId)
  })

  it('init writes a starter bundle that packs and validates', async () => {
    const target = join(dir, 'starter')
    const init = await runCli(['init', target])
    assert.equal(init.code, 0, init.stderr)
    const pack = await runCli(['pack', target, '-o', join(dir, 'starter.zip')])
    assert.equal(pack.code, 0, pack.stderr)
    assert.equal((await runCli(['validate', join(dir, 'starter.zip')])).code, 0)
    const again = await runCli(['init', target])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /not empty/)
  })

  it('exit code 2 and a message on stderr for usage errors', async () => {
    for (const args of [['bogus'], ['pack', example], ['validate'], ['validate', join(dir, 'missing.zip')]]) {
      const r = await runCli(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.notEqual(r.stderr.trim(), '')
    }
  })

  it('--help lists the commands and exits 0', async () => {
    const r = await runCli(['--help'])
    assert.equal(r.code, 0)
    for (const c of ['pack', 'validate', 'inspect', 'unpack', 'init']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`))
  })
})
