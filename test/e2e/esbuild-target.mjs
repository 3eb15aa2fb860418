// The esbuild target for the real-VS-Code mocha suite, used by the root esbuild.mjs when it is given
// `--tests`:  test/e2e/suite/index.ts -> out/test/suite/index.cjs (node, cjs).
//
// The extension host loads one CommonJS file, so the suite is bundled. `index.ts` imports the virtual
// module `tonk-e2e:test-files`, which this plugin generates at build time from every
// test/e2e/suite/*.test.ts: a list of [file, load] pairs, each `load` a lazy `require` so that
// index.ts can give mocha its globals (`describe`, `it`, …) before a file's top level runs.
// `vscode` and `mocha` stay external: the extension host provides `vscode`, and `mocha` comes from the
// project's node_modules at run time (the extension folder is the repo itself in development mode).
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const suiteDir = resolve(import.meta.dirname, 'suite')

/** esbuild plugin that resolves `tonk-e2e:test-files` to the list of test files in test/e2e/suite. */
export const e2eTestFilesPlugin = {
  name: 'tonk-e2e-test-files',
  setup(build) {
    build.onResolve({ filter: /^tonk-e2e:test-files$/ }, (args) => ({ path: args.path, namespace: 'tonk-e2e' }))
    build.onLoad({ filter: /.*/, namespace: 'tonk-e2e' }, () => {
      const files = readdirSync(suiteDir).filter((f) => f.endsWith('.test.ts')).sort()
      const entries = files.map((f) => `  [${JSON.stringify(f)}, () => require(${JSON.stringify('./' + f)})],`)
      return {
        contents: `export const testFiles = [\n${entries.join('\n')}\n]\n`,
        loader: 'js',
        resolveDir: suiteDir,
        watchDirs: [suiteDir],
      }
    })
  },
}

/** The build options for the suite bundle; `common` and `nodeTarget` come from esbuild.mjs. */
export function e2eSuiteTarget(nodeTarget) {
  return {
    ...nodeTarget,
    entryPoints: { index: join('test', 'e2e', 'suite', 'index.ts') },
    outdir: join('out', 'test', 'suite'),
    outExtension: { '.js': '.cjs' },
    external: [...new Set([...(nodeTarget.external ?? []), 'vscode', 'mocha', '@number0/iroh'])],
    plugins: [...(nodeTarget.plugins ?? []), e2eTestFilesPlugin],
  }
}
