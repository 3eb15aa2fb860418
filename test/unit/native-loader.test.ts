// The iroh loader (src/core/net/iroh.ts): which binary a machine needs, that importing the engine and
// validating a manifest never map the native module, and that a missing or broken one is a typed,
// one-paragraph error. Each case runs the built engine (out/engine.cjs) in its own Node process, since
// a process loads a native module once.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nativeKey, nativeTarget, PUBLISHED_TARGETS } from '../../src/core/net/native-target'

const root = join(import.meta.dirname, '..', '..')
const engine = join(root, 'out', 'engine.cjs')
const example = join(root, 'examples', 'my-world')

/** Runs `body` (CommonJS, `engine` in scope) in a fresh Node; returns its JSON output. */
function inNode(enginePath: string, body: string, env: NodeJS.ProcessEnv = {}): any {
  const script = `const engine = require(${JSON.stringify(enginePath)});
const mapped = () => require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').some((l) => /iroh\\.[^/]*\\.node$/.test(l));
(async () => { ${body} })().then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1) })`
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

describe('iroh native module: the loader', () => {
  it('names the binary napi-rs would pick for each OS, CPU and libc', () => {
    assert.equal(nativeKey('linux', 'x64', false), 'linux-x64-gnu')
    assert.equal(nativeKey('linux', 'x64', true), 'linux-x64-musl')
    assert.equal(nativeKey('darwin', 'arm64', false), 'darwin-arm64')
    assert.equal(nativeKey('darwin', 'x64', false), 'darwin-x64')
    assert.equal(nativeKey('win32', 'x64', false), 'win32-x64-msvc')
    assert.equal(nativeKey('linux', 'arm', false), 'linux-arm-gnueabihf')
    assert.equal(nativeKey('freebsd', 'x64', false), undefined)
    assert.deepEqual(
      PUBLISHED_TARGETS.map((t) => [t.vscodeTarget, t.key]),
      [['darwin-arm64', 'darwin-arm64'], ['linux-x64', 'linux-x64-gnu'], ['alpine-x64', 'linux-x64-musl']],
    )
    assert.deepEqual(nativeTarget('win32', 'x64', false), { key: 'win32-x64-msvc', label: 'Windows x64', published: false })
    assert.deepEqual(nativeTarget('linux', 'x64', true), { key: 'linux-x64-musl', label: 'Alpine Linux x64', published: true, vscodeTarget: 'alpine-x64' })
  })

  describe('in the built engine', function () {
    this.timeout(60_000)
    let dir: string
    before(function () {
      if (!existsSync(engine)) this.skip() // not built (npm test builds first)
      dir = mkdtempSync(join(tmpdir(), 'tonk-native-'))
    })
    after(() => dir && rmSync(dir, { recursive: true, force: true }))

    it('importing the engine and validating a manifest map no native module; a P2P call does', () => {
      const r = inNode(engine, `
        const before = mapped()
        const report = await engine.validateDirectory(${JSON.stringify(example)})
        const afterValidate = mapped()
        const problem = engine.irohProblem()
        return { before, afterValidate, errors: report.issues.filter((i) => i.severity === 'error').length, problem: problem?.code ?? null, afterP2p: mapped() }`)
      assert.deepEqual(r, { before: false, afterValidate: false, errors: 0, problem: null, afterP2p: true })
    })

    it('without a binary (an engine copied away from node_modules): E_NATIVE_MISSING that says what works instead', () => {
      mkdirSync(join(dir, 'ext', 'out'), { recursive: true })
      copyFileSync(engine, join(dir, 'ext', 'out', 'engine.cjs'))
      const r = inNode(join(dir, 'ext', 'out', 'engine.cjs'), `
        const report = await engine.validateDirectory(${JSON.stringify(example)})
        let thrown
        try { await engine.Session.open(${JSON.stringify(example)}, { dataDir: ${JSON.stringify(join(dir, 'data'))} }).then((s) => s.start()) } catch (e) { thrown = { code: e.code, name: e.name, message: e.message, searched: e.searched } }
        return { validated: report.issues.filter((i) => i.severity === 'error').length === 0, thrown, mapped: mapped() }`)
      assert.equal(r.validated, true)
      assert.equal(r.mapped, false)
      assert.equal(r.thrown.code, 'E_NATIVE_MISSING')
      assert.equal(r.thrown.name, 'NativeMissingError')
      const target = nativeTarget()
      assert.match(r.thrown.message, new RegExp(`^P2P sessions need the iroh native module, which this copy of Tonk P2P does not carry for ${target.label}`))
      assert.match(r.thrown.message, /run `tonk-p2p serve BUNDLE` on .* and connect your peers to it by ticket/)
      assert.doesNotMatch(r.thrown.message, /\n/)
      assert.ok(r.thrown.searched.includes(join(dir, 'ext', 'native', `iroh.${target.key}.node`)), `looked beside the bundle: ${r.thrown.searched}`)
      assert.ok(!existsSync(join(dir, 'data', 'session.json')), 'nothing was started')
    })

    it('a binary that does not load (TONK_IROH_NATIVE at a non-library): E_NATIVE_LOAD with the first line of why', () => {
      const bogus = join(dir, 'iroh.bogus.node')
      writeFileSync(bogus, 'not a shared library')
      const r = inNode(engine, `const p = engine.irohProblem(); return { code: p?.code, message: p?.message }`, { TONK_IROH_NATIVE: bogus })
      assert.equal(r.code, 'E_NATIVE_LOAD')
      assert.match(r.message, new RegExp(`the iroh native module for .* \\(${bogus.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) does not load here: .+\\. Run`))
      assert.doesNotMatch(r.message, /\n/)
    })
  })
})
