// npm run soak -- --peers N --changes M --minutes K   (defaults 5 × 3000 × 10)
// N headless peers on loopback (inside a network namespace: see package.json), M changes each spread
// over K minutes; prints RSS and descriptors per peer and exits 1 on growth past the bound or no convergence.
import { parseArgs } from 'node:util'
import { describeSoak, runSoak } from '../test/reliability/soak-run'
import { assertIsolated } from '../test/helpers/ensure-isolated'

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '5' },
    changes: { type: 'string', default: '3000' },
    minutes: { type: 'string', default: '10' },
  },
})
assertIsolated()
const options = { peers: Number(values.peers), changes: Number(values.changes), minutes: Number(values.minutes) }
for (const [k, v] of Object.entries(options)) {
  if (!(v > 0)) throw new Error(`--${k} must be a positive number`)
}
const t = () => new Date().toISOString().slice(11, 19)
const result = await runSoak({ ...options, log: (l) => console.log(`${t()} ${l}`) })
for (const line of describeSoak(options, result)) console.log(line)
process.exit(result.ok ? 0 : 1)
