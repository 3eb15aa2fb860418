// Requests cost memory and time, not frames (security issue 12, item 3). An admitted peer sends 10,000
// automerge-repo `request` messages for random document ids (~1.2 MB) to a real `tonk-p2p serve` that a
// good peer is connected to. While that runs and right after, a legitimate `doc put` / `doc get` on the
// target (over its control socket, and through the CLI as a user runs it) and the good peer's sync must
// stay fast, and the target's RSS bounded. The full run (TONK_RELIABILITY unset or 'full') adds 40,000
// requests: a peer that keeps asking for documents nobody has is dropped (E_RATE_LIMITED), because such a
// request costs 4 messages in its rate limit.
//
// Measured on the shared 2-core box (control-socket put/get; sync = put on the target until the good
// peer reads it; CLI = a fresh `tonk-p2p doc …` process):
//   BEFORE (automerge-repo made a DocHandle per requested id, asked the good peer for each, kept it):
//     10,000 requests sent in 0.8 s; 548 answered after 60 s. During: CLI put and get > 90 s (timed
//     out), good-peer sync > 90 s; right after: put 5.4 s, sync > 90 s, CLI put 5.3 s / get 4.0 s.
//     Target RSS 302 -> 840 MiB (+537 MiB), still 834 MiB at the end.
//   AFTER (unknown ids answered doc-unavailable by the adapter, without a handle; ~45 passed on to the
//   good peer within the per-peer budget of 32 + 2/s; the flood throttled by its weighted rate limit):
//     10,000 requests sent in 0.7-3 s, all answered within 6.3-7.7 s (10,000 doc-unavailable). During:
//     put <= 130 ms on a quiet box (<= 430 ms with other helpers' tests running), get <= 18 ms, sync
//     <= 700 ms, CLI put/get 0.5-3.8 s (idle 0.4-1.4 s). RSS peak +0-24 MiB over the idle peak, and
//     lower than at the start once settled. 40,000 requests: dropped (E_RATE_LIMITED) after 10.7 s
//     with ~15,000 answered; put <= 290 ms meanwhile; RSS peak +22-38 MiB.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle } from '../../src/core/bundle'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { hostileTarget, runHostile, type HostileTarget } from '../helpers/hostile-run'
import { PeerProcess } from '../helpers/peers'
import { count, figure, rssMiB } from './summary'

const FULL = process.env.TONK_RELIABILITY === undefined || process.env.TONK_RELIABILITY === 'full'
/** Each legitimate call on the target's control socket, and the good peer's sync (the unfixed target: minutes). */
const LEGIT_CALL_BOUND_MS = 1000
/**
 * The CLI starts a Node process, which competes for the 2 cores with the attacker's process: 0.4-1.4 s
 * idle here, up to ~4 s during the flood. Loose, but the unfixed target made it time out.
 */
const CLI_BOUND_MS = 10_000
/**
 * RSS peak during and after a 10,000-request flood over the peak of the idle rounds before it (GC timing
 * moves both by ~20 MiB); the 40,000-request case gets twice this.
 */
// Loose: GC timing alone moves the peak by tens of MiB on this box; the unfixed target grew by 430-540 MiB.
const RSS_GROWTH_BOUND_MIB = 100
/** A legitimate call slower than this is recorded as this (and fails its bound). */
const CALL_TIMEOUT_MS = 90_000
/** How long the attacker may take to send and collect its answers. */
const FLOOD_SECONDS = 60
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Round {
  put: number
  get: number
  sync: number
  cliPut?: number
  cliGet?: number
}

describe('security: a flood of requests for unknown documents costs the target neither memory nor time', function () {
  this.timeout(900_000)
  let dir: string
  let target: PeerProcess
  let good: PeerProcess
  let targetClient: ControlClient
  let goodClient: ControlClient
  let info: HostileTarget
  let rssPeak = 0
  let sampler: NodeJS.Timeout | undefined
  /** A failed call (a get behind a put that timed out finds nothing) is recorded as timed out, and why. */
  const failures: string[] = []

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-requests-'))
    const bundle = join(dir, 'b.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    const loaded = await loadBundle(bundle)
    const quiet = ['--no-mdns', '--no-exchange']
    target = await PeerProcess.start({ bundle, dataDir: join(dir, 'target'), name: 'target', args: quiet })
    good = await PeerProcess.start({ bundle, dataDir: join(dir, 'good'), name: 'good', connect: [target.ticket], args: quiet })
    await target.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === good.endpointId, 20000)
    info = hostileTarget(target.ticket, loaded)
    targetClient = (await connectControl(join(dir, 'target', 'control.sock')))!
    goodClient = (await connectControl(join(dir, 'good', 'control.sock')))!
    sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(target.child.pid!) || 0)), 100)
  })
  after(async () => {
    if (sampler) clearInterval(sampler)
    targetClient?.close()
    goodClient?.close()
    await Promise.all([target?.stop(), good?.stop()])
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Milliseconds `what` took; CALL_TIMEOUT_MS if it took longer or failed. */
  const timed = async (what: () => Promise<unknown>): Promise<number> => {
    const started = performance.now()
    try {
      await Promise.race([what(), sleep(CALL_TIMEOUT_MS)])
    } catch (err) {
      failures.push(String(err).split('\n')[0]!)
      return CALL_TIMEOUT_MS
    }
    return Math.min(CALL_TIMEOUT_MS, performance.now() - started)
  }

  /** A put on the target until the good peer reads it: the good peer's sync through the target. */
  function goodSync(tag: string): Promise<number> {
    const path = `/requests/sync-${tag}`
    return timed(async () => {
      await targetClient.call('put', { path, value: { path } })
      for (;;) {
        const got = await goodClient.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
        if (got?.value?.path === path) return
        await sleep(20)
      }
    })
  }

  /** One legitimate put and get on the target over its control socket, one good-peer sync, and maybe the CLI. */
  async function round(tag: string, withCli: boolean): Promise<Round> {
    const path = `/requests/legit-${tag}`
    const put = await timed(() => targetClient.call('put', { path, value: { tag } }))
    const get = await timed(() => targetClient.call('get', { path }))
    const sync = await goodSync(tag)
    if (!withCli) return { put, get, sync }
    const cli = async (args: string[]) => {
      const r = await target.doc(args, CALL_TIMEOUT_MS + 5000)
      assert.equal(r.code, 0, r.stderr)
    }
    const cliPut = await timed(() => cli(['put', `${path}-cli`, JSON.stringify({ tag })]))
    const cliGet = await timed(() => cli(['get', `${path}-cli`]))
    return { put, get, sync, cliPut, cliGet }
  }

  const worst = (rounds: Round[], key: keyof Round) => Math.max(0, ...rounds.map((r) => r[key] ?? 0))
  const summary = (rounds: Round[]) =>
    `max put ${worst(rounds, 'put').toFixed(0)}/get ${worst(rounds, 'get').toFixed(0)}/sync ${worst(rounds, 'sync').toFixed(0)}` +
    `/cli put ${worst(rounds, 'cliPut').toFixed(0)}/cli get ${worst(rounds, 'cliGet').toFixed(0)} ms over ${rounds.length} round(s)`

  /** Floods the target with `requests` requests for random ids while timing legitimate calls; checks the bounds. */
  async function floodCase(requests: number, tag: string, rssBoundMiB: number) {
    // Idle rounds first: figures to compare with, a warm target, and the RSS peak it reaches doing them.
    rssPeak = 0
    const idle = [await round(`${tag}-warm-up`, true), await round(`${tag}-idle`, true)]
    figure('requests', `${tag} idle: ${summary(idle)}`)
    const idlePeak = rssPeak
    rssPeak = 0

    let done = false
    const flood = runHostile('request-flood', info, [`count=${requests}`, `seconds=${FLOOD_SECONDS}`], (FLOOD_SECONDS + 30) * 1000).finally(() => (done = true))
    await sleep(300)
    const during: Round[] = []
    for (let i = 0; !done; i++) during.push(await round(`${tag}-during-${i}`, i % 2 === 0))
    const run = await flood
    const after: Round[] = []
    for (let i = 0; i < 3; i++) after.push(await round(`${tag}-after-${i}`, true))
    await sleep(2000)
    const floodPeak = rssPeak
    const settled = rssMiB(target.child.pid!)

    const sent = run.lines.find((l) => l.event === 'sent')
    const answered = run.lines.find((l) => l.event === 'answered')
    const replies = (run.result.replies ?? {}) as Record<string, number>
    figure(
      'requests',
      `${tag}: ${sent?.requests ?? 0} requests (${sent?.sentBytes ?? 0} B) offered in ${sent?.ms ?? '?'} ms; ${answered?.answered ?? 0} answered by ${answered?.ms ?? '?'} ms ` +
        `(${JSON.stringify(replies)})${answered?.closeReason ? `; dropped: ${answered.closeReason}` : ''}${run.result.readError ? `; read error: ${run.result.readError}` : ''}`,
    )
    if (failures.length) figure('requests', `${tag}: failed calls: ${failures.slice(0, 3).join('; ')}`)
    figure('requests', `${tag} during the flood: ${summary(during)}`)
    figure('requests', `${tag} right after: ${summary(after)}`)
    figure(
      'requests',
      `${tag}: target RSS peak ${idlePeak.toFixed(0)} MiB idle, ${floodPeak.toFixed(0)} MiB during and after (+${(floodPeak - idlePeak).toFixed(0)}, bound +${rssBoundMiB}); ${settled.toFixed(0)} MiB settled`,
    )

    assert.equal(target.child.exitCode, null, 'the target is alive')
    for (const [name, rounds] of [['during', during], ['after', after]] as const) {
      for (const key of ['put', 'get', 'sync'] as const) {
        assert.ok(worst(rounds, key) < LEGIT_CALL_BOUND_MS, `${name} the flood: a legitimate ${key} took ${worst(rounds, key).toFixed(0)} ms`)
      }
      for (const key of ['cliPut', 'cliGet'] as const) {
        assert.ok(worst(rounds, key) < CLI_BOUND_MS, `${name} the flood: the CLI's ${key} took ${worst(rounds, key).toFixed(0)} ms`)
      }
    }
    assert.ok(floodPeak - idlePeak < rssBoundMiB, `target RSS peak grew by ${(floodPeak - idlePeak).toFixed(0)} MiB`)
    count('hostile cases tried')
    count('hostile cases survived')
    return { sent, answered, replies }
  }

  it('10,000 requests for random document ids: all answered, legitimate calls stay under 1 s, RSS bounded', async () => {
    const { sent, answered, replies } = await floodCase(10_000, '10k', RSS_GROWTH_BOUND_MIB)
    assert.equal(sent?.requests, 10_000, 'the attacker sent every request')
    // Every request answered, all of them doc-unavailable: the few passed on to the good peer
    // (multi-hop) come back unavailable from it too.
    assert.equal(answered?.answered, 10_000, 'the target answered every request')
    assert.equal(answered?.closeReason, undefined, 'a burst of 10,000 is throttled, not dropped')
    assert.ok((replies['doc-unavailable'] ?? 0) >= 9_900, `doc-unavailable answers: ${replies['doc-unavailable']}`)
  })

  it('40,000 requests, without a break: the peer is dropped (E_RATE_LIMITED), legitimate calls unaffected', async function () {
    if (!FULL) this.skip()
    const { answered } = await floodCase(40_000, '40k', 2 * RSS_GROWTH_BOUND_MIB)
    assert.match(String(answered?.closeReason), /E_RATE_LIMITED/)
  })
})
