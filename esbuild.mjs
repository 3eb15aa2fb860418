// The one build script. Entry points:
//   extension  src/extension/main.ts -> out/extension.cjs (node, cjs; `vscode` external). The thin layer
//              activate() parses: it must not bundle the engine (a unit test checks its size).
//   engine     src/extension/engine.ts -> out/engine.cjs (node, cjs; iroh native addon external): src/core
//              for the extension, require()d on first use (src/extension/engine-loader.ts)
//   engine-worker out/engine-worker.cjs, written here: the script of RemoteSession's worker thread, one
//              line calling runEngineWorker() of out/engine.cjs (the engine ships once)
//   cli        src/cli/bin.ts        -> out/cli.cjs       (node, cjs; iroh external)
//   library    src/engine.ts -> dist/engine/index.mjs (ESM) + index.cjs (CJS): the published `tonk-p2p/engine`.
//              Every package stays external (a dependency of tonk-p2p), so an app shares one automerge-repo
//              with its own Repo. Declarations: tsc -p tsconfig.engine.json (see `build:engine-types`).
//   webview-ui webview-ui/*/main.ts  -> out/webview/*.js  (browser, iife), plus out/webview/automerge.wasm:
//              the preview page fetches Automerge's WASM as a file (compiled while it streams) instead of
//              parsing 5 MB of base64 JS at every load
//   e2e suite  test/e2e/suite/index.ts -> out/test/suite/index.cjs (only with --tests; see docs/testing-in-vscode.md)
// Usage: node esbuild.mjs [--watch] [--production] [--tests]
import * as esbuild from 'esbuild'
import { e2eSuiteTarget } from './test/e2e/esbuild-target.mjs'
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
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
  // jsonc-parser's "main" is a UMD build that loads its parts with a runtime require('./impl/…'),
  // which a bundle cannot resolve (the extension failed to activate): take its ESM build.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  // automerge-repo is ESM; in a CJS bundle `import.meta.url` is empty, so nothing in src may rely on it.
  define: { 'import.meta.url': '__tonk_import_meta_url' },
  banner: { js: "const __tonk_import_meta_url = require('url').pathToFileURL(__filename).href;" },
}))

// The library: unminified (an app's bundler minifies), every bare import left to the app's node_modules.
const libraryTargets = [
  { format: 'esm', outExtension: { '.js': '.mjs' } },
  {
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    // require() cannot load ESM-only packages that export no "require" (bittorrent-dht): bundle those;
    // Automerge stays shared (require(esm), Node >= 20.19) and the native binding stays outside.
    external: ['@automerge/*', '@number0/iroh', 'cbor-extract'],
    define: { 'import.meta.url': '__tonk_import_meta_url' },
    banner: { js: "const __tonk_import_meta_url = require('url').pathToFileURL(__filename).href;" },
  },
].map((t) => ({
  ...common,
  ...t,
  minify: false,
  entryPoints: { index: 'src/engine.ts' },
  outdir: 'dist/engine',
  platform: 'node',
  target: 'node20',
  packages: t.format === 'esm' ? 'external' : undefined,
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

const targets = [...nodeTargets, ...libraryTargets, ...(Object.keys(webviewEntries).length ? [webviewTarget] : [])]
// RemoteSession's worker thread runs the engine already bundled in out/engine.cjs.
mkdirSync('out', { recursive: true })
writeFileSync('out/engine-worker.cjs', "// RemoteSession's worker thread (src/core/session/remote/engine-worker.ts).\nrequire('./engine.cjs').runEngineWorker()\n")
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
  // The declarations (tsc, extensionless imports) are CommonJS-style whatever this package's "type" says.
  mkdirSync('dist/engine/types', { recursive: true })
  writeFileSync('dist/engine/types/package.json', '{ "type": "commonjs" }\n')
  // The library's RemoteSession starts this next to index.mjs / index.cjs. It runs the ESM build whichever
  // one the app loaded: the CJS build cannot require() Automerge's base64 WASM module under plain node.
  writeFileSync('dist/engine/engine-worker.cjs', "// RemoteSession's worker thread (src/core/session/remote/engine-worker.ts).\nvoid import('./index.mjs').then((engine) => engine.runEngineWorker())\n")
  console.log(`esbuild: built ${targets.length} targets in ${Date.now() - started} ms`)
}
