// Issue 12, item 4: bytes a peer makes us buffer are bounded. A real `tonk-p2p serve` (the target) in
// this namespace, a good peer connected throughout, and attackers (test/helpers/hostile-peer.ts) that
// open extra QUIC streams and fill them (after the handshake and before it), hold almost complete
// maximal frames from ten identities at once, and open hundreds of connections that never speak.
// For each: the target's RSS growth (VmRSS from /proc) stays under a bound and the good peer still
// syncs. Figures measured on this 2-core machine are in the closing note of issue 12.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle } from '../../src/core/bundle'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { hostileTarget, runHostile, type HostileRun, type HostileTarget } from '../helpers/hostile-run'
import { PeerProcess } from '../helpers/peers'
import { count, figure, rssMiB } from './summary'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('security: what a peer makes us buffer is bounded (streams, partial frames, connections)', function () {
  this.timeout(300_000)
  let dir: string
  let target: PeerProcess
  let good: PeerProcess
  let targetClient: ControlClient
  let goodClient: ControlClient
  let info: HostileTarget

  let bundle: string
  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-buffers-'))
    bundle = join(dir, 'b.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    info = hostileTarget('', await loadBundle(bundle))
  })
  // A fresh target per case: RSS is a high-water mark, one case's growth would hide the next one's.
  let round = 0
  beforeEach(async () => {
    round++
    const quiet = ['--no-mdns', '--no-exchange']
    target = await PeerProcess.start({ bundle, dataDir: join(dir, `target-${round}`), name: 'target', args: quiet })
    good = await PeerProcess.start({ bundle, dataDir: join(dir, `good-${round}`), name: 'good', connect: [target.ticket], args: quiet })
    await target.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === good.endpointId, 20_000)
    info = { ...info, ticket: target.ticket }
    targetClient = (await connectControl(join(dir, `target-${round}`, 'control.sock')))!
    goodClient = (await connectControl(join(dir, `good-${round}`, 'control.sock')))!
    await goodStillSyncs('warm-up')
  })
  afterEach(async () => {
    targetClient?.close()
    goodClient?.close()
    await Promise.all([target?.stop(), good?.stop()])
  })
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  async function goodStillSyncs(tag: string, timeoutMs = 15_000): Promise<number> {
    const path = `/buffers/${tag}-${Math.random().toString(36).slice(2, 8)}`
    const started = performance.now()
    await targetClient.call('put', { path, value: { path } })
    while (performance.now() - started < timeoutMs) {
      const got = await goodClient.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
      if (got?.value?.path === path) return performance.now() - started
      await sleep(20)
    }
    assert.fail(`${tag}: the good peer did not receive a write within ${timeoutMs} ms`)
  }

  /** Runs one attack while sampling the target's RSS; returns the run and the growth over the start. */
  async function measured(mode: string, extra: string[]): Promise<{ run: HostileRun; growth: number; start: number }> {
    await sleep(500)
    const pid = target.child.pid!
    const start = rssMiB(pid)
    let max = start
    const sampler = setInterval(() => (max = Math.max(max, rssMiB(pid) || 0)), 50)
    try {
      const run = await runHostile(mode, info, extra, 120_000)
      await sleep(1000) // what arrives last is buffered after the attacker's writes return
      max = Math.max(max, rssMiB(pid) || 0)
      return { run, growth: max - start, start }
    } finally {
      clearInterval(sampler)
    }
  }

  async function survived(name: string, text: string): Promise<void> {
    assert.equal(target.child.exitCode, null, 'the target is alive')
    const ms = await goodStillSyncs(name)
    count('buffer attacks tried')
    count('buffer attacks survived')
    figure('buffers', `${text}; good peer synced in ${ms.toFixed(0)} ms`)
  }

  it('an admitted peer opens 200 extra bi- and uni-streams and fills each with 1 MiB: < +60 MiB', async () => {
    const { run, growth, start } = await measured('stuff-streams', ['streams=200', `bytes=${1024 * 1024}`, 'seconds=10'])
    const s = run.lines.find((l) => l.event === 'streams') ?? {}
    await survived('streams-after-hello', `extra streams after the hello: ${s.bi} bi + ${s.uni} uni opened, ${s.written} writes of 1 MiB completed; target RSS ${start.toFixed(0)} MiB +${growth.toFixed(0)} MiB`)
    assert.ok(growth < 60, `RSS grew by ${growth.toFixed(0)} MiB`)
  })

  it('the same before any hello: < +60 MiB, and the connection is closed', async () => {
    const { run, growth, start } = await measured('stuff-streams', ['prehello=1', 'streams=200', `bytes=${1024 * 1024}`, 'seconds=10'])
    const s = run.lines.find((l) => l.event === 'streams') ?? {}
    await survived('streams-before-hello', `extra streams before any hello: ${s.bi} bi + ${s.uni} uni opened, ${s.written} writes of 1 MiB completed, closed: ${run.result.closeReason ?? 'no'}; target RSS ${start.toFixed(0)} MiB +${growth.toFixed(0)} MiB`)
    assert.ok(growth < 60, `RSS grew by ${growth.toFixed(0)} MiB`)
  })

  // The bound: the shared budget (64 MiB of frames held) plus what reading them costs while it lasts
  // (the binding's copies of each chunk, garbage until V8 collects it). Measured on the 2-core machine:
  // +145 MiB over a fresh target at 142 MiB (peak ~287 MiB). Without the budget the ten frames alone
  // are 160 MiB on top. (With Automerge's WASM from its base64 module a target started at ~170 MiB, on
  // ~140 MiB glibc had freed and kept for reuse: the same peak read +120 then, and the bound was 120.)
  it('ten identities each holding a 16 MiB partial frame: the shared budget makes the rest wait and stalled holders are dropped, < +180 MiB', async () => {
    const { run, growth, start } = await measured('partial-frames', ['identities=10', `frame=${16 * 1024 * 1024 - 64}`, 'seconds=15'])
    const p = run.lines.find((l) => l.event === 'partials') ?? {}
    await survived(
      'partial-frames',
      `10 identities × 16 MiB partial frames: ${p.admitted} admitted, ${p.complete} got all but the last byte in, ${run.result.closedByTarget} closed by the target (${(run.result.reasons ?? []).join(' | ')}); target RSS ${start.toFixed(0)} MiB +${growth.toFixed(0)} MiB`,
    )
    assert.ok(growth < 180, `RSS grew by ${growth.toFixed(0)} MiB`)
  })

  it('300 silent connections from one identity: all but a few closed at once (E_TOO_MANY_CONNECTIONS)', async () => {
    const { run, growth, start } = await measured('connection-flood', ['connections=300', 'seconds=20'])
    await survived('connection-flood-one', `300 silent connections from one endpoint: ${run.result.closedByTarget}/${run.result.opened} closed by the target (${(run.result.reasons ?? []).join(' | ')}); target RSS ${start.toFixed(0)} MiB +${growth.toFixed(0)} MiB`)
    assert.equal(run.result.closedByTarget, run.result.opened)
    assert.ok((run.result.reasons ?? []).some((r: string) => /E_TOO_MANY_CONNECTIONS/.test(r)), JSON.stringify(run.result.reasons))
    assert.ok(run.result.ms < 8000, `took ${run.result.ms} ms: they were held until the handshake timeout`)
  })

  it('300 silent connections from 100 identities: at most the half-open cap (64) is accepted, the rest refused (< +60 MiB)', async () => {
    const { run, growth, start } = await measured('connection-flood', ['connections=300', 'identities=100', 'seconds=20'])
    await survived('connection-flood-many', `300 silent connections from 100 endpoints: ${run.result.opened} accepted, ${run.result.closedByTarget} closed by the target; target RSS ${start.toFixed(0)} MiB +${growth.toFixed(0)} MiB`)
    assert.ok(run.result.opened <= 80, `${run.result.opened} half-open connections accepted at once`)
    assert.equal(run.result.closedByTarget, run.result.opened, 'every accepted one was closed (handshake timeout)')
    assert.ok(growth < 60, `RSS grew by ${growth.toFixed(0)} MiB`)
  })
})
