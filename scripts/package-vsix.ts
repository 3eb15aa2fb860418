// Builds the VSIXes: one per VS Code target iroh publishes a native build for (linux-x64, alpine-x64,
// darwin-arm64), each carrying exactly its own `native/iroh.<key>.node`, and a universal one with no
// native part for every other platform (the manifest tools work there; P2P commands say why not).
//
// Why a staging folder per target: vsce packs a folder, and the other platforms' builds are not in
// node_modules (npm installs only this machine's). So the files `vsce ls` lists for the repo (see
// .vscodeignore) are copied into build/vsix/<target>/ with that target's binary, and vsce packs that.
// The binaries come from node_modules when npm installed them, else from `npm pack` of the exact
// version the lock pins, checked against the lock's integrity; they live in build/native/ (gitignored),
// never in git.
//
// Usage (npm run package builds out/ first):
//   node --import tsx scripts/package-vsix.ts [--fetch-only] [--offline] [--targets linux-x64,universal] [--out DIR]
//   --offline      never run npm pack: fail (exit 3) when a binary is not in node_modules or build/native
//   --fetch-only   only fill build/native/ (the one step that needs the registry)
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { PUBLISHED_TARGETS } from '../src/core/net/native-target'

const root = resolve(import.meta.dirname, '..')
const vsce = join(root, 'node_modules', '.bin', 'vsce')
export const EXIT_NATIVE_UNAVAILABLE = 3

export interface VsixTarget {
  /** VS Code's target, or 'universal' for the VSIX without a native part. */
  name: string
  /** iroh's napi key for the binary it carries. */
  key?: string
}

export const VSIX_TARGETS: VsixTarget[] = [...PUBLISHED_TARGETS.map((t) => ({ name: t.vscodeTarget, key: t.key })), { name: 'universal' }]

export const vsixFileName = (target: string): string => `tonk-p2p-${target}.vsix`

/** The iroh version the lock pins; the platform builds must be the same. */
function irohVersion(lock: Lockfile): string {
  const version = lock.packages['node_modules/@number0/iroh']?.version
  if (!version) throw new Error('package-lock.json has no @number0/iroh')
  return version
}

interface Lockfile {
  packages: Record<string, { version?: string; integrity?: string }>
}

class NativeUnavailable extends Error {}

/** build/native/<key>/iroh.<key>.node for the pinned version: from node_modules, the cache, or npm pack. */
function ensureNative(key: string, lock: Lockfile, offline: boolean): string {
  const version = irohVersion(lock)
  const pkg = `@number0/iroh-${key}`
  const dir = join(root, 'build', 'native', key)
  const binary = join(dir, `iroh.${key}.node`)
  const stamp = join(dir, 'version')
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === version) return binary

  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const installed = join(root, 'node_modules', pkg)
  if (existsSync(join(installed, `iroh.${key}.node`)) && readJson(join(installed, 'package.json')).version === version) {
    // npm ci put it there after checking the lock's integrity.
    copyFileSync(join(installed, `iroh.${key}.node`), binary)
  } else {
    if (offline) throw new NativeUnavailable(`${pkg}@${version} is neither in node_modules nor in build/native (run npm run package once with the registry reachable)`)
    const expected = lock.packages[`node_modules/${pkg}`]?.integrity
    if (!expected) throw new Error(`package-lock.json pins no integrity for ${pkg}: run npm install (then scripts/prune-lockfile.mjs)`)
    let packed: { filename: string }[]
    try {
      const out = execFileSync('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', dir], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      packed = JSON.parse(out)
    } catch (err) {
      throw new NativeUnavailable(`npm pack ${pkg}@${version} failed: ${String((err as { stderr?: string }).stderr ?? err).trim().split('\n').slice(-3).join(' ')}`)
    }
    const tgz = join(dir, packed[0]!.filename)
    const actual = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`
    if (actual !== expected) throw new Error(`${tgz}: integrity ${actual} is not the lock's ${expected}; refusing it`)
    execFileSync('tar', ['xzf', tgz, '-C', dir, '--strip-components=1', `package/iroh.${key}.node`])
    rmSync(tgz)
  }
  writeFileSync(stamp, version + '\n')
  return binary
}

/** What `vsce ls` ships from the repo (.vscodeignore decides), without node_modules. */
function shippedFiles(): string[] {
  const out = execFileSync(vsce, ['ls', '--no-dependencies'], { cwd: root, encoding: 'utf8' })
  const files = out.split('\n').map((l) => l.trim()).filter(Boolean)
  for (const needed of ['package.json', 'out/extension.cjs', 'out/engine.cjs', 'out/cli.cjs', 'LICENSE', 'CHANGELOG.md']) {
    if (!files.includes(needed)) throw new Error(`vsce ls does not list ${needed} (run the build first: npm run package does)`)
  }
  return files
}

function stage(target: VsixTarget, files: string[], binary: string | undefined): string {
  const dir = join(root, 'build', 'vsix', target.name)
  rmSync(dir, { recursive: true, force: true })
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    copyFileSync(join(root, file), join(dir, file))
  }
  if (binary) {
    mkdirSync(join(dir, 'native'), { recursive: true })
    copyFileSync(binary, join(dir, 'native', `iroh.${target.key}.node`))
  }
  // The folder holds exactly what ships; this file only keeps vsce from asking whether that is so.
  writeFileSync(join(dir, '.vscodeignore'), '**/*.map\n')
  return dir
}

export async function packageVsixes(opts: { targets: VsixTarget[]; outDir: string; offline: boolean; fetchOnly?: boolean; log?: (line: string) => void }): Promise<{ target: string; file: string; bytes: number }[]> {
  const log = opts.log ?? ((line: string) => console.log(line))
  const lock = readJson(join(root, 'package-lock.json')) as Lockfile
  const binaries = new Map(opts.targets.filter((t) => t.key).map((t) => [t.name, ensureNative(t.key!, lock, opts.offline)]))
  if (opts.fetchOnly) {
    for (const [name, file] of binaries) log(`${name}: ${file}`)
    return []
  }
  const files = shippedFiles()
  mkdirSync(opts.outDir, { recursive: true })
  const staged = opts.targets.map((target) => ({ target, dir: stage(target, files, binaries.get(target.name)), file: join(opts.outDir, vsixFileName(target.name)) }))
  // vsce spends its time deflating (~4 s for a 20 MB binary): one per core.
  const queue = [...staged]
  const made: { target: string; file: string; bytes: number }[] = []
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const args = ['package', '--no-dependencies', '--out', job.file, ...(job.target.key ? ['--target', job.target.name] : [])]
      const { stderr } = await promisify(execFile)(vsce, args, { cwd: job.dir, maxBuffer: 16 * 1024 * 1024 })
      if (stderr.trim()) process.stderr.write(`${job.target.name}: ${stderr}`) // vsce's warnings
      made.push({ target: job.target.name, file: job.file, bytes: statSync(job.file).size })
    }
  }
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), staged.length) }, worker))
  for (const { target, bytes } of staged.map((s) => made.find((m) => m.target === s.target.name)!)) {
    const key = opts.targets.find((t) => t.name === target)?.key
    log(`${vsixFileName(target).padEnd(28)} ${(bytes / 1024 / 1024).toFixed(1).padStart(5)} MB  ${key ? `native/iroh.${key}.node` : 'no native module'}`)
  }
  return made
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'))
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const wanted = arg('--targets')?.split(',')
  const targets = wanted ? VSIX_TARGETS.filter((t) => wanted.includes(t.name)) : VSIX_TARGETS
  if (wanted && targets.length !== wanted.length) {
    console.error(`package-vsix: unknown target in ${wanted.join(',')}; known: ${VSIX_TARGETS.map((t) => t.name).join(', ')}`)
    process.exit(2)
  }
  try {
    await packageVsixes({
      targets,
      outDir: resolve(arg('--out') ?? root),
      offline: process.argv.includes('--offline'),
      fetchOnly: process.argv.includes('--fetch-only'),
    })
  } catch (err) {
    console.error(`package-vsix: ${(err as Error).message}`)
    process.exit(err instanceof NativeUnavailable ? EXIT_NATIVE_UNAVAILABLE : 1)
  }
}
