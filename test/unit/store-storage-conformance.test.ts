// automerge-repo's own storage adapter acceptance suite, run against CrashSafeStorageAdapter.
// The suite imports `vitest`; a resolve hook registered here maps that one import (and only from the
// suite's file) to test/helpers/vitest-context-shim.ts, which provides vitest's test context on mocha.
// Registered last, it takes precedence over a project-wide vitest shim for this file only. Top-level
// await makes mocha's require() attempt fail and fall back to import(), under which the hook applies.
import { mkdtemp, rm } from 'node:fs/promises'
import { register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { CrashSafeStorageAdapter } from '../../src/core/store/storage'

const shimUrl = pathToFileURL(join(import.meta.dirname, '..', 'helpers', 'vitest-context-shim.ts')).href
const hook = `
let shimUrl
export function initialize(data) { shimUrl = data.shimUrl }
export async function resolve(specifier, context, next) {
  if (specifier === 'vitest' && context.parentURL && context.parentURL.includes('/helpers/tests/storage-adapter-tests')) {
    return next(shimUrl, context) // through tsx's resolver, so its loader compiles the .ts
  }
  return next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { shimUrl } })

await initAutomerge()
const { runStorageAdapterTests } = await import('@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js')

describe('CrashSafeStorageAdapter: automerge-repo conformance', () => {
  runStorageAdapterTests(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tonk-storage-conf-'))
    return {
      adapter: new CrashSafeStorageAdapter(dir),
      teardown: () => rm(dir, { recursive: true, force: true }),
    }
  }, 'CrashSafeStorageAdapter')
})
