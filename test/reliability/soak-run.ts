// The soak: N `serve` peers (a chain of ticket dials plus whatever discovery adds) each make M changes
// spread over K minutes, to documents of their own and to documents every peer writes. RSS and open
// descriptors of every peer are sampled; after the warm-up (the first fifth of the run) neither may
// grow past the bound below, and at the end every peer must agree on every document.
// Used by scripts/soak.ts (npm run soak) and, short, by test/reliability/soak.test.ts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess } from '../helpers/peers'
import { fdCount, rssMiB } from './summary'

export interface SoakOptions {
  peers: number
  /** Changes per peer over the whole run. */
  changes: number
  minutes: number
  /** Documents each peer rewrites (its own), and documents all peers rewrite (shared). */
  ownDocs?: number
  sharedDocs?: number
  log?: (line: string) => void
}

/** Growth allowed after warm-up: RSS (MiB) and descriptors, per peer. */
export const SOAK_BOUNDS = { rssGrowthMiB: 96, fdGrowth: 16 }

export interface SoakResult {
  ok: boolean
  problems: string[]
  changesMade: number
  convergeMs: number
  perPeer: Array<{ peer: number; rssWarm: number; rssEnd: number; rssMax: number; fdWarm: number; fdEnd: number }>
  samples: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { peers: n, changes, minutes } = options
  const ownDocs = options.ownDocs ?? 20
  const sharedDocs = options.sharedDocs ?? 5
  const log = options.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'tonk-soak-'))
  const procs: PeerProcess[] = []
  const clients: ControlClient[] = []
  const problems: string[] = []
  try {
    const bundle = join(dir, 'b.zip')
    const packed = await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])
    if (packed.code !== 0) throw new Error(packed.stderr)
    for (let i = 0; i < n; i++) {
      const connect = i === 0 ? [] : [procs[i - 1]!.ticket]
      procs.push(await PeerProcess.start({ bundle, dataDir: join(dir, `p${i}`), name: `soak-${i}`, connect }))
      clients.push((await connectControl(join(dir, `p${i}`, 'control.sock')))!)
    }
    log(`${n} peers up; ${changes} changes each over ${minutes} min`)

    const durationMs = minutes * 60000
    const warmupMs = durationMs / 5
    const samples: Array<{ at: number; rss: number[]; fds: number[] }> = []
    const sample = () => samples.push({ at: performance.now(), rss: procs.map((p) => rssMiB(p.child.pid!)), fds: procs.map((p) => fdCount(p.child.pid!)) })
    const started = performance.now()
    sample()
    const sampler = setInterval(sample, Math.max(250, Math.min(5000, durationMs / 40)))
    const finalValue = new Map<string, { by: number; seq: number }>()
    let made = 0
    const writer = async (i: number) => {
      const interval = durationMs / changes
      for (let seq = 0; seq < changes; seq++) {
        const due = started + seq * interval
        const wait = due - performance.now()
        if (wait > 0) await sleep(wait)
        // Every fourth change goes to a shared document (concurrent writers), the rest to its own.
        const path = seq % 4 === 3 ? `/soak/shared/d${seq % sharedDocs}` : `/soak/p${i}/d${seq % ownDocs}`
        await clients[i]!.call('put', { path, value: { path, by: i, seq, at: Date.now() } })
        made++
        if (!path.includes('/shared/')) finalValue.set(path, { by: i, seq })
      }
    }
    const progress = setInterval(() => log(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${made}/${n * changes} changes; RSS ${samples.at(-1)!.rss.map((r) => r.toFixed(0)).join('/')} MiB; fds ${samples.at(-1)!.fds.join('/')}`), 15000)
    await Promise.all(procs.map((_, i) => writer(i)))
    const remaining = durationMs - (performance.now() - started)
    if (remaining > 0) await sleep(remaining)
    clearInterval(progress)

    // Convergence: every peer has the last value of every own document, and all agree on the shared ones.
    const convergeStart = performance.now()
    let lagging = new Set(procs.map((_, i) => i))
    while (lagging.size > 0 && performance.now() - convergeStart < 120000) {
      for (const i of [...lagging]) {
        let ok = true
        for (const [path, want] of finalValue) {
          const got = await clients[i]!.call<{ value: { by: number; seq: number } }>('get', { path }).catch(() => undefined)
          if (got?.value?.seq !== want.seq || got.value.by !== want.by) {
            ok = false
            break
          }
        }
        if (ok) {
          const shared = await Promise.all(
            Array.from({ length: sharedDocs }, (_, d) => clients[i]!.call<{ value: unknown }>('get', { path: `/soak/shared/d${d}` }).then((r) => JSON.stringify(r.value)).catch(() => '?')),
          )
          const reference = await Promise.all(
            Array.from({ length: sharedDocs }, (_, d) => clients[0]!.call<{ value: unknown }>('get', { path: `/soak/shared/d${d}` }).then((r) => JSON.stringify(r.value)).catch(() => '!')),
          )
          if (shared.every((v, d) => v === reference[d])) lagging.delete(i)
        }
      }
      if (lagging.size > 0) await sleep(250)
    }
    const convergeMs = performance.now() - convergeStart
    clearInterval(sampler)
    sample()
    if (lagging.size > 0) problems.push(`peers ${[...lagging].join(',')} did not converge within 120 s`)

    const warm = samples.find((s) => s.at - started >= warmupMs) ?? samples[0]!
    const end = samples.at(-1)!
    const perPeer = procs.map((_, i) => ({
      peer: i,
      rssWarm: warm.rss[i]!,
      rssEnd: end.rss[i]!,
      rssMax: Math.max(...samples.filter((s) => s.at >= warm.at).map((s) => s.rss[i]!)),
      fdWarm: warm.fds[i]!,
      fdEnd: end.fds[i]!,
    }))
    for (const p of perPeer) {
      if (p.rssMax - p.rssWarm > SOAK_BOUNDS.rssGrowthMiB) problems.push(`peer ${p.peer}: RSS grew ${(p.rssMax - p.rssWarm).toFixed(0)} MiB after warm-up`)
      if (p.fdEnd - p.fdWarm > SOAK_BOUNDS.fdGrowth) problems.push(`peer ${p.peer}: ${p.fdEnd - p.fdWarm} more descriptors than after warm-up`)
    }
    for (const p of procs) if (p.child.exitCode !== null) problems.push(`peer ${p.options.name} exited (${p.child.exitCode})`)
    return { ok: problems.length === 0, problems, changesMade: made, convergeMs, perPeer, samples: samples.length }
  } finally {
    for (const c of clients) c.close()
    await Promise.all(procs.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

export function describeSoak(o: SoakOptions, r: SoakResult): string[] {
  return [
    `${o.peers} peers × ${o.changes} changes over ${o.minutes} min: ${r.changesMade} changes made, all converged ${r.convergeMs.toFixed(0)} ms after the last; ${r.samples} samples`,
    ...r.perPeer.map(
      (p) =>
        `peer ${p.peer}: RSS ${p.rssWarm.toFixed(0)} MiB after warm-up → max ${p.rssMax.toFixed(0)} → ${p.rssEnd.toFixed(0)} MiB at end (bound +${SOAK_BOUNDS.rssGrowthMiB}); fds ${p.fdWarm} → ${p.fdEnd} (bound +${SOAK_BOUNDS.fdGrowth})`,
    ),
    ...(r.problems.length ? [`PROBLEMS: ${r.problems.join('; ')}`] : []),
  ]
}
