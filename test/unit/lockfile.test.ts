import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-expect-error plain ESM script without types
import { danglingOptionalEdges } from '../../scripts/prune-lockfile.mjs'

describe('package-lock.json', () => {
  it('has no optional edge to a package missing from the lock (npm ci would refuse it)', () => {
    const lock = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package-lock.json'), 'utf8'))
    assert.deepEqual(danglingOptionalEdges(lock), [], 'run: node scripts/prune-lockfile.mjs')
  })

  it('finds a dangling edge when there is one', () => {
    const lock = { packages: { '': {}, 'node_modules/a': { optionalDependencies: { b: '1', c: '1' } }, 'node_modules/b': {} } }
    assert.deepEqual(danglingOptionalEdges(lock), [{ path: 'node_modules/a', dep: 'c' }])
  })
})
