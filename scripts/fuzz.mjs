#!/usr/bin/env node
// Long fuzzing run: the properties of test/reliability/fuzz.test.ts with many more cases than CI.
// Usage: npm run fuzz [-- --runs N] [-- --seed S]   (default 20000 runs per property)
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20000' }, seed: { type: 'string' } } })
const env = { ...process.env, TONK_FUZZ_RUNS: values.runs }
if (values.seed) env.TONK_FUZZ_SEED = values.seed
// The fuzzers bind no sockets; isolated.mjs anyway, so a future property that does stays contained.
const r = spawnSync(
  process.execPath,
  ['scripts/isolated.mjs', 'npx', 'mocha', '--no-config', '-n', 'import=tsx', '-n', 'no-deprecation', '--timeout', '0', '--exit', 'test/reliability/fuzz.test.ts'],
  { stdio: 'inherit', env },
)
process.exit(r.status ?? 1)
