import { readdirSync, readFileSync } from 'node:fs'

// The figures `npm run test:reliability` prints at the end: each suite records what it tried and what
// held, and one root-level hook prints them together (mocha runs root `after` hooks after every file).
// mocha may load one spec file through require and another through import (tsx serves both), which
// would make two copies of this module: keep the state and the hook on globalThis so there is one.
interface SummaryState {
  lines: Array<{ section: string; text: string }>
  counters: Map<string, number>
  hooked: boolean
}
const state: SummaryState = ((globalThis as { __tonkReliabilitySummary?: SummaryState }).__tonkReliabilitySummary ??= {
  lines: [],
  counters: new Map(),
  hooked: false,
})
const { lines, counters } = state

/** Records one printed figure (also printed right away, under the test). */
export function figure(section: string, text: string): void {
  lines.push({ section, text })
  console.log(`      [${section}] ${text}`)
}

/** Adds to a named counter shown in the summary ("hostile cases survived", …). */
export function count(name: string, n = 1): void {
  counters.set(name, (counters.get(name) ?? 0) + n)
}

// Guarded: scripts (soak) import the samplers below outside mocha.
if (typeof after === 'function' && !state.hooked) {
  state.hooked = true
  after(printSummary)
}

function printSummary(): void {
  if (lines.length === 0 && counters.size === 0) return
  console.log('\n  ===== reliability summary =====')
  for (const [name, n] of counters) console.log(`  ${name}: ${n}`)
  let section = ''
  for (const l of lines) {
    if (l.section !== section) console.log(`  -- ${(section = l.section)}`)
    console.log(`     ${l.text}`)
  }
  console.log('  ===============================\n')
}

/** VmRSS of a process in MiB (from /proc), or NaN when it has exited. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1])
    return kb / 1024
  } catch {
    return NaN
  }
}

/** Open file descriptors of a process (sockets, files, pipes), or NaN. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return NaN
  }
}
