// The extension's activation path stays thin: out/extension.cjs (parsed by activate()) must not bundle
// the engine; out/engine.cjs carries it and is loaded on first use. Runs on the build `npm test` makes.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const out = join(import.meta.dirname, '..', '..', 'out')

describe('extension bundle split', () => {
  before(function () {
    if (!existsSync(join(out, 'extension.cjs')) || !existsSync(join(out, 'engine.cjs'))) this.skip() // not built (npm test builds first)
  })

  it('out/extension.cjs is small and holds neither Automerge nor iroh nor the bundle code', () => {
    const size = statSync(join(out, 'extension.cjs')).size
    assert.ok(size < 300_000, `out/extension.cjs is ${size} bytes`)
    const text = readFileSync(join(out, 'extension.cjs'), 'utf8')
    for (const marker of ['automergeWasmBase64', '@number0/iroh', 'new Ajv', 'ZipDeflate']) {
      assert.ok(!text.includes(marker), `out/extension.cjs contains ${marker}`)
    }
    assert.match(text, /engine\.cjs/, 'it loads the engine by path')
  })

  it('no bundle keeps a relative require() that only resolves inside node_modules (a UMD package broke activation so)', () => {
    for (const file of ['extension.cjs', 'engine.cjs', 'cli.cjs']) {
      const text = readFileSync(join(out, file), 'utf8')
      // esbuild renames a shadowed `require` to require2, require3, …
      const relative = [...text.matchAll(/\brequire\d*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)].map((m) => m[1])
      assert.deepEqual(relative, [], `out/${file} requires ${relative.join(', ')} at run time`)
    }
  })

  it('out/engine.cjs loads in plain Node and exports what the extension uses', () => {
    const engine = createRequire(import.meta.url)(join(out, 'engine.cjs'))
    for (const name of ['RemoteSession', 'runEngineWorker', 'levelsFrom', 'packDirectory', 'validateDirectory', 'inspectDirectory', 'loadBundle', 'writeBundleZip', 'parseDialTarget', 'BundleError']) {
      assert.ok(engine[name], `engine.cjs does not export ${name}`)
    }
    assert.throws(() => engine.parseDialTarget('nonsense'), /neither an endpoint ticket/)
  })

  it("out/engine-worker.cjs, RemoteSession's worker script, runs the engine of out/engine.cjs", () => {
    const text = readFileSync(join(out, 'engine-worker.cjs'), 'utf8')
    assert.match(text, /require\('\.\/engine\.cjs'\)\.runEngineWorker\(\)/)
  })
})
