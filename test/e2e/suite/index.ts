// Mocha entry of the real-VS-Code suite. VS Code's extension host calls `run()` (code-server through the
// `payload` query parameter, desktop VS Code through @vscode/test-electron's `extensionTestsPath`);
// a rejected promise makes the run fail. Bundled to out/test/suite/index.cjs by `node esbuild.mjs --tests`.
//
// Test files: every test/e2e/suite/*.test.ts, found at build time (see test/e2e/esbuild-target.mjs).
// Write them with mocha's BDD globals (`describe`, `it`, `before`, …) and the real `vscode` API.
import type MochaType from 'mocha'
import { testFiles } from 'tonk-e2e:test-files'

/** Options read from the environment of the extension host (set them before starting VS Code). */
function options(): MochaType.MochaOptions {
  const env = process.env
  return {
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    timeout: Number(env.TONK_E2E_TEST_TIMEOUT ?? 60_000),
    grep: env.TONK_E2E_GREP || undefined,
  }
}

export async function run(): Promise<void> {
  // `mocha` is external: resolved from the extension folder's node_modules at run time (mocha ≤ 11 is
  // CommonJS and exports the class itself; mocha 12 would be `require('mocha').Mocha`).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mochaModule = require('mocha') as typeof MochaType & { Mocha?: typeof MochaType }
  const Mocha = mochaModule.Mocha ?? mochaModule
  const mocha = new Mocha(options())
  if (testFiles.length === 0) throw new Error('e2e suite: no test/e2e/suite/*.test.ts files were bundled')
  // What mocha.loadFiles() does for files on disk, done for bundled modules: give each file the BDD
  // globals, then let it register its suites.
  for (const [file, load] of testFiles) {
    mocha.suite.emit('pre-require', globalThis, file, mocha)
    mocha.suite.emit('require', load(), file, mocha)
    mocha.suite.emit('post-require', globalThis, file, mocha)
  }
  const started = Date.now()
  const failures = await new Promise<number>((resolve) => mocha.run(resolve))
  console.log(`e2e suite: ${failures} failure(s) in ${Date.now() - started} ms`)
  if (failures > 0) throw new Error(`e2e suite: ${failures} test(s) failed`)
}
