// The one build script. Entry points:
//   extension  src/extension/main.ts -> out/extension.cjs (node, cjs; `vscode` external). The thin layer
//              activate() parses: it must not bundle the engine (a unit test checks its size).
//   engine     src/extension/engine.ts -> out/engine.cjs (node, cjs; iroh native addon external): src/core
//              for the extension, require()d on first use (src/extension/engine-loader.ts)
//   cli        src/cli/bin.ts        -> out/cli.cjs       (node, cjs; iroh external)
//   webview-ui webview-ui/*/main.ts  -> out/webview/*.js  (browser, iife), plus out/webview/automerge.wasm:
//              the preview page fetches Automerge's WASM as a file (compiled while it streams) instead of
//              parsing 5 MB of base64 JS at every load
//   e2e suite  test/e2e/suite/index.ts -> out/test/suite/index.cjs (only with --tests; see docs/testing-in-vscode.md)
// Usage: node esbuild.mjs [--watch] [--production] [--tests]
import * as esbuild from 'esbuild'
import { e2eSuiteTarget } from './test/e2e/esbuild-target.mjs'
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const watch = process.argv.includes('--watch')
const production = process.argv.includes('--production')

// Native or optional modules that must be loaded from node_modules at run time, never bundled.
const nodeExternals = ['vscode', '@number0/iroh', 'cbor-extract']

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
}

const nodeTargets = [
  { entryPoints: { extension: 'src/extension/main.ts' }, outExtension: { '.js': '.cjs' } },
  { entryPoints: { engine: 'src/extension/engine.ts' }, outExtension: { '.js': '.cjs' } },
  { entryPoints: { cli: 'src/cli/bin.ts' }, outExtension: { '.js': '.cjs' } },
].map((t) => ({
  ...common,
  ...t,
  outdir: 'out',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: nodeExternals,
  // automerge-repo is ESM; in a CJS bundle `import.meta.url` is empty, so nothing in src may rely on it.
  define: { 'import.meta.url': '__tonk_import_meta_url' },
  banner: { js: "const __tonk_import_meta_url = require('url').pathToFileURL(__filename).href;" },
}))

const webviewEntries = existsSync('webview-ui')
  ? Object.fromEntries(
      readdirSync('webview-ui', { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join('webview-ui', d.name, 'main.ts')))
        .map((d) => [d.name, join('webview-ui', d.name, 'main.ts')]),
    )
  : {}

const webviewTarget = {
  ...common,
  entryPoints: webviewEntries,
  outdir: 'out/webview',
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
}

const targets = Object.keys(webviewEntries).length ? [...nodeTargets, webviewTarget] : nodeTargets
if (Object.keys(webviewEntries).length) {
  mkdirSync('out/webview', { recursive: true })
  copyFileSync('node_modules/@automerge/automerge/dist/automerge.wasm', 'out/webview/automerge.wasm')
}
// The extension measures how long its own bundle takes to evaluate (reported with the activation time).
nodeTargets[0].banner = { js: `${nodeTargets[0].banner.js}\nconst __tonk_load_started = performance.now();` }
if (process.argv.includes('--tests')) targets.push(e2eSuiteTarget(nodeTargets[0]))

if (watch) {
  for (const t of targets) await (await esbuild.context(t)).watch()
  console.log('esbuild: watching')
} else {
  const started = Date.now()
  await Promise.all(targets.map((t) => esbuild.build(t)))
  console.log(`esbuild: built ${targets.length} targets in ${Date.now() - started} ms`)
}
