// Prints the functions with the most self time in a V8 .cpuprofile (from BENCH_CPU_PROF=… npm run bench).
// Usage: npx tsx bench/profile-top.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] }
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
profile.samples.forEach((id, i) => {
  const n = byId.get(id)!
  const where = n.callFrame.url.split('/').slice(-2).join('/')
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${where}:${n.callFrame.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0))
})
const total = [...self.values()].reduce((a, b) => a + b, 0)
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`)
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25))) {
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
}
