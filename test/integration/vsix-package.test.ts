// The VSIXes `npm run package` makes (scripts/package-vsix.ts), unpacked: each platform one carries
// exactly its own iroh binary (checked by its bytes, not only its name), the universal one none; and
// unpacked copies run: the linux-x64 one serves a bundle from its native/ folder, the universal one
// validates and reads that peer's documents offline and refuses `serve` with E_NATIVE_MISSING, no stack.
//
// Packaging needs iroh's other platform builds, which only the registry has. `npm run package` fetches
// them into build/native/ (outside the test namespace); this test then packages offline from there.
// Without them it skips, with a message, except in CI (.ci/run runs `npm run package` first).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { unzipSync } from 'fflate'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess } from '../helpers/peers'

const script = join(repoRoot, 'scripts', 'package-vsix.ts')
const EXIT_NATIVE_UNAVAILABLE = 3 // scripts/package-vsix.ts

/** What each VSIX must carry, and how its binary's bytes look. */
const EXPECTED: Record<string, { node?: string; looksRight?: (bin: Uint8Array) => string | undefined }> = {
  'linux-x64': { node: 'iroh.linux-x64-gnu.node', looksRight: (b) => elfX64(b) ?? (has(b, 'GLIBC_2.') ? undefined : 'not linked against glibc') },
  'alpine-x64': { node: 'iroh.linux-x64-musl.node', looksRight: (b) => elfX64(b) ?? (has(b, 'GLIBC_2.') ? 'linked against glibc, not musl' : undefined) },
  'darwin-arm64': { node: 'iroh.darwin-arm64.node', looksRight: machOArm64 },
  universal: {},
}

function elfX64(b: Uint8Array): string | undefined {
  if (b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) return 'not an ELF file'
  return Buffer.from(b).readUInt16LE(18) === 0x3e ? undefined : 'not x86-64'
}
function machOArm64(b: Uint8Array): string | undefined {
  const buf = Buffer.from(b)
  if (buf.readUInt32LE(0) !== 0xfeedfacf) return 'not a 64-bit Mach-O file'
  return buf.readUInt32LE(4) === 0x0100000c ? undefined : 'not arm64'
}
const has = (b: Uint8Array, text: string) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(text)

function packageScript(args: string[], timeoutMs: number) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, '--offline', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: timeoutMs })
}

/** Unpacks a VSIX's `extension/` folder into dir (what VS Code installs). */
function install(vsix: string, dir: string): string {
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(vsix)))) {
    if (!name.startsWith('extension/') || name.endsWith('/')) continue
    const file = join(dir, name)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, bytes)
  }
  return join(dir, 'extension')
}

describe('VSIXes: one per platform iroh is built for, and a universal one', function () {
  this.timeout(120_000)
  let dir: string
  const entries = new Map<string, { names: string[]; inflated: Record<string, Uint8Array> }>()

  before(function () {
    if (!existsSync(join(repoRoot, 'out', 'engine.cjs'))) throw new Error('out/ is not built (npm test builds it)')
    const probe = packageScript(['--fetch-only'], 30_000)
    if (probe.status === EXIT_NATIVE_UNAVAILABLE) {
      const why = `iroh's platform builds are not staged (${probe.stderr.trim()})`
      if (process.env.CI) throw new Error(`${why}: CI must run \`npm run package\` before the tests`)
      console.log(`      skipped: ${why}. Run \`npm run package\` once (it needs the npm registry).`)
      this.skip()
    }
    assert.equal(probe.status, 0, probe.stderr)
    dir = mkdtempSync(join(tmpdir(), 'tonk-vsix-'))
    const started = performance.now()
    const made = packageScript(['--out', join(dir, 'vsix')], 100_000)
    assert.equal(made.status, 0, `package-vsix failed:\n${made.stdout}\n${made.stderr}`)
    console.log(`      packaged 4 VSIXes in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    for (const target of Object.keys(EXPECTED)) {
      const file = join(dir, 'vsix', `tonk-p2p-${target}.vsix`)
      assert.ok(existsSync(file), `no ${file}`)
      // Every entry is listed; only .node files and the manifest are inflated.
      const names: string[] = []
      const inflated = unzipSync(readFileSync(file), { filter: (f) => (names.push(f.name), f.name.endsWith('.node') || f.name === 'extension.vsixmanifest') })
      entries.set(target, { names, inflated })
    }
  })
  after(() => dir && rmSync(dir, { recursive: true, force: true }))

  for (const [target, want] of Object.entries(EXPECTED)) {
    it(`${target}: ${want.node ? `only native/${want.node}` : 'no native module'}, and the manifest says which platform`, () => {
      const { names, inflated: files } = entries.get(target)!
      const natives = names.filter((f) => f.endsWith('.node'))
      assert.deepEqual(natives, want.node ? [`extension/native/${want.node}`] : [])
      if (want.node) {
        const problem = want.looksRight!(files[`extension/native/${want.node}`]!)
        assert.equal(problem, undefined, `${want.node}: ${problem}`)
      }
      const manifest = Buffer.from(files['extension.vsixmanifest']!).toString('utf8')
      const platform = /TargetPlatform="([^"]+)"/.exec(manifest)?.[1]
      assert.equal(platform, target === 'universal' ? undefined : target)
      for (const needed of ['extension/package.json', 'extension/out/extension.cjs', 'extension/out/engine.cjs', 'extension/out/engine-worker.cjs', 'extension/out/cli.cjs', 'extension/LICENSE.txt', 'extension/changelog.md', 'extension/media/icon.png', 'extension/package.nls.json', 'extension/l10n/bundle.l10n.json', 'extension/media/walkthrough/1-bundle.png']) {
        assert.ok(names.includes(needed), `${target} lacks ${needed}`)
      }
      const stray = names.filter((f) => f.includes('node_modules/') || f.endsWith('.map') || f.startsWith('extension/src/'))
      assert.deepEqual(stray, [])
    })
  }

  it('unpacked: linux-x64 serves from its native/ binary; universal validates, reads that data dir offline and refuses serve plainly', async function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip()
    assertIsolated() // serve binds an iroh endpoint
    const linux = install(join(dir, 'vsix', 'tonk-p2p-linux-x64.vsix'), join(dir, 'linux'))
    const universal = install(join(dir, 'vsix', 'tonk-p2p-universal.vsix'), join(dir, 'universal'))
    const example = join(repoRoot, 'examples', 'my-world')
    const zip = join(dir, 'my-world.zip')
    const dataDir = join(dir, 'peer')

    const packed = await runCli(['pack', example, '-o', zip], { bin: join(universal, 'bin', 'tonk-p2p.cjs'), cwd: dir })
    assert.equal(packed.code, 0, packed.stderr)
    const valid = await runCli(['validate', example], { bin: join(universal, 'bin', 'tonk-p2p.cjs'), cwd: dir })
    assert.equal(valid.code, 0, valid.stderr)

    const peer = await PeerProcess.start({ bundle: zip, dataDir, bin: join(linux, 'bin', 'tonk-p2p.cjs'), args: ['--no-mdns'] })
    try {
      assert.equal((await peer.doc(['put', '/notes/vsix', JSON.stringify({ from: 'linux-x64 vsix' })])).code, 0)
    } finally {
      await peer.stop()
    }

    const offline = await runCli(['--json', 'doc', 'get', '/notes/vsix', '--data', dataDir], { bin: join(universal, 'bin', 'tonk-p2p.cjs'), cwd: dir })
    assert.equal(offline.code, 0, offline.stderr)
    assert.deepEqual(JSON.parse(offline.stdout).value, { from: 'linux-x64 vsix' })

    const serve = await runCli(['serve', zip, '--data', join(dir, 'other'), '--bind', '127.0.0.1:0'], { bin: join(universal, 'bin', 'tonk-p2p.cjs'), cwd: dir })
    assert.equal(serve.code, 1)
    assert.match(serve.stderr, /^error E_NATIVE_MISSING: P2P sessions need the iroh native module, which this copy of Tonk P2P does not carry for Linux x64/)
    assert.match(serve.stderr, /tonk-p2p serve BUNDLE` on a machine that has it and connect your peers to it by ticket/)
    assert.doesNotMatch(serve.stderr, /\n\s+at /, 'no stack trace')
    assert.equal(serve.stderr.trim().split('\n').length, 1, `one line:\n${serve.stderr}`)
  })
})
