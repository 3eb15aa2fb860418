// The short form of the soak (scripts/soak.ts runs the long one): peers × changes for a bounded time,
// RSS and descriptors sampled, no growth past SOAK_BOUNDS after warm-up, everyone converges.
import assert from 'node:assert/strict'
import { assertIsolated } from '../helpers/ensure-isolated'
import { describeSoak, runSoak, type SoakOptions } from './soak-run'
import { count, figure } from './summary'

const CI = process.env.TONK_RELIABILITY === 'ci'
const options: SoakOptions = CI ? { peers: 3, changes: 120, minutes: 0.5 } : { peers: 4, changes: 600, minutes: 2 }

describe(`reliability: soak (${options.peers} peers × ${options.changes} changes, ${options.minutes} min)`, function () {
  this.timeout(options.minutes * 60000 + 240000)
  before(() => assertIsolated())

  it('no RSS or descriptor growth past the bound after warm-up; all peers converge', async () => {
    const result = await runSoak(options)
    for (const line of describeSoak(options, result)) figure('soak', line)
    count('soak changes', result.changesMade)
    assert.deepEqual(result.problems, [])
    assert.equal(result.changesMade, options.peers * options.changes)
  })
})
