import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..', '..')

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return sourceFiles(p)
    return /\.(ts|tsx|js|mjs|cjs)$/.test(name) ? [p] : []
  })
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3] ?? m[4])!)
  return specs
}

describe('layering', () => {
  it('finds imports the way the boundary checks read them', () => {
    // Guards the checks below against a regex that silently matches nothing.
    const sample = "import * as vscode from 'vscode'\nconst x = require(\"vscode\")\nexport { a } from '../extension/x'"
    const tmp = join(root, 'out', 'boundary-sample.ts')
    mkdirSync(join(root, 'out'), { recursive: true })
    writeFileSync(tmp, sample)
    assert.deepEqual(importsOf(tmp), ['vscode', 'vscode', '../extension/x'])
  })

  it('src/core never imports vscode, the extension, the CLI or webview code', () => {
    const offenders = sourceFiles(join(root, 'src', 'core')).flatMap((f) =>
      importsOf(f)
        .filter((s) => s === 'vscode' || /(^|\/)(extension|cli|webview-ui)(\/|$)/.test(s))
        .map((s) => `${relative(root, f)} imports ${s}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('src/cli never imports vscode or the extension', () => {
    const offenders = sourceFiles(join(root, 'src', 'cli')).flatMap((f) =>
      importsOf(f)
        .filter((s) => s === 'vscode' || /(^|\/)extension(\/|$)/.test(s))
        .map((s) => `${relative(root, f)} imports ${s}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('src/protocol holds types only: no runtime imports of the host or of vscode', () => {
    const offenders = sourceFiles(join(root, 'src', 'protocol')).flatMap((f) =>
      importsOf(f)
        .filter((s) => s === 'vscode' || /(^|\/)(extension|core)(\/|$)/.test(s))
        .map((s) => `${relative(root, f)} imports ${s}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('src/shared runs in a webview too: no node: modules, no host code', () => {
    const offenders = sourceFiles(join(root, 'src', 'shared')).flatMap((f) =>
      importsOf(f)
        .filter((s) => s === 'vscode' || s.startsWith('node:') || /(^|\/)(extension|cli|core)(\/|$)/.test(s))
        .map((s) => `${relative(root, f)} imports ${s}`),
    )
    assert.ok(sourceFiles(join(root, 'src', 'shared')).length > 0, 'src/shared exists')
    assert.deepEqual(offenders, [])
  })

  it('webview-ui reaches the project only through src/shared and src/protocol', () => {
    const offenders = sourceFiles(join(root, 'webview-ui')).flatMap((f) =>
      importsOf(f)
        // relative imports that leave webview-ui must land in src/shared or src/protocol
        .filter((s) => s === 'vscode' || s.startsWith('node:') || (/^\.\.?\//.test(s) && /\.\.\/\.\.\//.test(s) && !/\/src\/(shared|protocol)\//.test(s)))
        .map((s) => `${relative(root, f)} imports ${s}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('discovery and protocols never import the adapter class: they see the transport through narrow interfaces', () => {
    // net/types.ts and net/extension-channel.ts carry what they need (DiscoveryNetwork, ExtensionChannel).
    const files = ['discovery', 'protocols'].flatMap((room) => sourceFiles(join(root, 'src', 'core', room)))
    assert.ok(files.length > 5, 'src/core/discovery and src/core/protocols exist')
    const offenders = files.flatMap((f) =>
      importsOf(f)
        .filter((s) => /(^|\/)net\/iroh-adapter(\.ts)?$/.test(s))
        .map((s) => `${relative(root, f)} imports ${s}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('a file over ~400 lines says why in its header', () => {
    // The house rule (STYLE.md): small rooms with one concern; a bigger one explains itself up front.
    const files = ['src', 'webview-ui'].flatMap((dir) => sourceFiles(join(root, dir))).filter((f) => !f.endsWith('.d.ts'))
    const offenders = files.flatMap((f) => {
      const lines = readFileSync(f, 'utf8').split('\n')
      if (lines.length <= 420) return []
      const header = lines.slice(0, 40).filter((l) => l.startsWith('//')).join('\n')
      return /over ~?400 lines/i.test(header) ? [] : [`${relative(root, f)} (${lines.length} lines)`]
    })
    assert.deepEqual(offenders, [])
  })
})
