// Hostile peers against a real `tonk-p2p serve` (the target) while a good peer stays connected to it.
// Each hostile is a separate process (test/helpers/hostile-peer.ts) speaking raw frames over the iroh
// binding. For each case: the target refuses or drops the hostile with the expected code, stays alive,
// its RSS stays under a bound, and the good peer keeps syncing (a put on the target reaches it).
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
import { count, fdCount, figure, rssMiB } from './summary'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** RSS growth of the target allowed over the whole suite. */
const RSS_GROWTH_BOUND_MIB = 150

describe('reliability: hostile peers against a serving peer, a good peer connected throughout', function () {
  this.timeout(600000)
  let dir: string
  let target: PeerProcess
  let good: PeerProcess
  let targetClient: ControlClient
  let goodClient: ControlClient
  let info: HostileTarget
  let rssStart = 0
  let rssMax = 0
  let sampler: NodeJS.Timeout | undefined
  const latencies: number[] = []

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-rel-hostile-'))
    const bundle = join(dir, 'b.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    const loaded = await loadBundle(bundle)
    // mDNS and peer exchange off: the case counts only the connections the test makes.
    const quiet = ['--no-mdns', '--no-exchange']
    target = await PeerProcess.start({ bundle, dataDir: join(dir, 'target'), name: 'target', args: quiet })
    good = await PeerProcess.start({ bundle, dataDir: join(dir, 'good'), name: 'good', connect: [target.ticket], args: quiet })
    await target.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === good.endpointId, 20000)
    info = hostileTarget(target.ticket, loaded)
    targetClient = (await connectControl(join(dir, 'target', 'control.sock')))!
    goodClient = (await connectControl(join(dir, 'good', 'control.sock')))!
    await goodStillSyncs('warm-up')
    rssStart = rssMiB(target.child.pid!)
    rssMax = rssStart
    sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(target.child.pid!) || 0)), 100)
  })
  after(async () => {
    if (sampler) clearInterval(sampler)
    targetClient?.close()
    goodClient?.close()
    await Promise.all([target?.stop(), good?.stop()])
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** A put on the target reaches the good peer (and the target is alive): returns the latency. */
  async function goodStillSyncs(tag: string, timeoutMs = 15000): Promise<number> {
    const path = `/hostile/${tag}-${Math.random().toString(36).slice(2, 8)}`
    const started = performance.now()
    await targetClient.call('put', { path, value: { path } })
    while (performance.now() - started < timeoutMs) {
      const got = await goodClient.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
      if (got?.value?.path === path) {
        const ms = performance.now() - started
        latencies.push(ms)
        return ms
      }
      await sleep(20)
    }
    assert.fail(`${tag}: the good peer did not receive a write within ${timeoutMs} ms`)
  }

  function stillConnected(): void {
    assert.equal(target.child.exitCode, null, 'the target is alive')
    const lastGood = [...target.events].reverse().find((e) => (e.event === 'peer-connected' || e.event === 'peer-disconnected') && (e.peer?.endpointId ?? e.endpointId) === good.endpointId)
    assert.equal(lastGood?.event, 'peer-connected', 'the good peer stayed connected')
  }

  const refusedOnTarget = (endpointId: string, timeoutMs = 15000) =>
    target.waitFor((e) => e.event === 'peer-refused' && e.endpointId === endpointId, timeoutMs)

  /** One case: run it, check the outcome, then that the good peer is unaffected. */
  async function hostileCase(name: string, mode: string, check: (run: HostileRun) => Promise<string> | string, extra: string[] = []) {
    const started = performance.now()
    const run = await runHostile(mode, info, extra)
    const outcome = await check(run)
    const ms = await goodStillSyncs(mode)
    stillConnected()
    count('hostile cases tried')
    count('hostile cases survived')
    figure(
      'hostile',
      `${name}: ${outcome}; ${run.result.sent} frames/${run.result.sentBytes} B sent in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `good peer synced in ${ms.toFixed(0)} ms; target RSS ${rssMiB(target.child.pid!).toFixed(0)} MiB`,
    )
  }

  const refusal = (code: string) => async (run: HostileRun) => {
    const r = await refusedOnTarget(run.endpointId)
    assert.equal(r.code, code, r.reason)
    return `refused ${r.code} ("${r.reason}")`
  }
  /** The target closed the connection with `code` as its reason. */
  const dropped = (code: string | RegExp) => (run: HostileRun) => {
    assert.ok(run.result.closedByTarget, `the target did not close the connection: ${JSON.stringify(run.result)}`)
    assert.match(String(run.result.closeReason), typeof code === 'string' ? new RegExp(code) : code)
    return `dropped (${String(run.result.closeReason).replace(/^closed by peer: /, '')})`
  }

  it('a hello for another build that syncs only with its own (strictBuild) is refused (E_BUNDLE_MISMATCH)', () => hostileCase('wrong bundle id', 'wrong-bundle', refusal('E_BUNDLE_MISMATCH')))
  it('a hello that is not CBOR is refused (E_HANDSHAKE_MALFORMED)', () => hostileCase('garbage hello', 'bad-hello', refusal('E_HANDSHAKE_MALFORMED')))
  it('a 1 GiB frame before the hello is refused without allocating it', () => hostileCase('1 GiB hello frame', 'huge-hello', refusal('E_HANDSHAKE_MALFORMED')))
  it('a peer that opens a stream and never says hello times out (E_HANDSHAKE_TIMEOUT)', () =>
    hostileCase('silent peer', 'silent', refusal('E_HANDSHAKE_TIMEOUT')))
  it('a frame that is not CBOR after the handshake: dropped', () => hostileCase('malformed CBOR', 'garbage-cbor', dropped('E_MESSAGE_MALFORMED')))
  it('CBOR that is not a message: dropped', () => hostileCase('CBOR array as message', 'bad-message', dropped('E_MESSAGE_MALFORMED')))
  it('an oversized frame (1 GiB header) after the handshake: dropped before allocating', () =>
    hostileCase('1 GiB frame', 'oversized', dropped('E_FRAME_TOO_LARGE')))
  it('a sync message sent as another peer (spoofed senderId): dropped', () =>
    hostileCase('spoofed senderId', 'spoof-sender', dropped('E_MESSAGE_MALFORMED')))
  it("presence sent as the good peer (a direct peer's automerge id): ignored, the link kept, the good peer's presence untouched", async () => {
    const goodPeerId = target.events.find((e) => e.event === 'peer-connected' && e.peer.endpointId === good.endpointId)!.peer.peerId
    const seenBefore = target.events.length
    await hostileCase('presence as a neighbour', 'spoof-presence', async (run) => {
      assert.ok(run.lines.find((l) => l.event === 'presence-spoof')?.documentId, 'the target sent no presence heartbeat to spoof against')
      assert.ok(!run.result.closedByTarget, `presence is forwarded with its origin's id, so the link stays: ${run.result.closeReason}`)
      await sleep(1000)
      const spoofed = target.events.slice(seenBefore).filter((e) => e.event === 'presence' && JSON.stringify(e.peers).includes('spoofed'))
      assert.equal(spoofed.length, 0, `the target took presence from the hostile as the good peer's: ${JSON.stringify(spoofed[0])}`)
      return 'ignored, connection kept, no presence changed'
    }, [`victim=${goodPeerId}`, 'seconds=3'])
  })
  it('a second hello claiming another bundle after being accepted: dropped', () =>
    hostileCase('second hello, other bundle', 'second-hello', dropped('E_MESSAGE_MALFORMED')))
  it("a hello claiming the good peer's automerge peer id is refused; the good peer keeps its messages", async () => {
    const goodPeerId = target.events.find((e) => e.event === 'peer-connected' && e.peer.endpointId === good.endpointId)!.peer.peerId
    await hostileCase('stolen automerge peer id', 'steal-peer-id', refusal('E_PEER_ID_TAKEN'), [`victim=${goodPeerId}`])
  })
  it('sync messages with random bytes as automerge data: the target survives', () =>
    hostileCase('garbage sync data', 'garbage-sync', (run) => {
      return run.result.closedByTarget ? `dropped (${run.result.closeReason})` : 'ignored by automerge, connection kept'
    }, ['seconds=3']))
  it('a flood of small messages is throttled, then dropped (E_RATE_LIMITED); the good peer keeps syncing during it', async () => {
    const flood = runHostile('flood', info, ['seconds=30'])
    // Measure the good peer while the flood runs.
    await sleep(1500)
    const during: number[] = []
    for (let i = 0; i < 5; i++) during.push(await goodStillSyncs(`during-flood-${i}`))
    const run = await flood
    assert.ok(run.result.closedByTarget, `the flooder was not dropped: ${JSON.stringify(run.result)}`)
    assert.match(String(run.result.closeReason), /E_RATE_LIMITED/)
    const rate = run.result.sent / (run.result.ms / 1000)
    figure('hostile', `flood: offered ${run.result.sent} messages (${(rate / 1000).toFixed(1)}k msg/s offered) before E_RATE_LIMITED after ${(run.result.ms / 1000).toFixed(1)} s; good peer put→get during the flood ${during.map((x) => x.toFixed(0)).join('/')} ms`)
    await goodStillSyncs('after-flood')
    stillConnected()
    count('hostile cases tried')
    count('hostile cases survived')
  })
  it('a peer that opens hundreds of streams: the target survives, memory bounded', () =>
    hostileCase('200 extra streams', 'many-streams', (run) => `${run.lines.find((l) => l.event === 'streams')?.opened ?? 0} extra streams opened, ignored`, ['streams=200', 'seconds=8']))
  it('50 connections that never open a stream: all closed by the target (past four per endpoint at once, else at the handshake timeout)', () =>
    hostileCase('connection flood', 'connection-flood', (run) => {
      assert.equal(run.result.closedByTarget, run.result.opened, `${run.result.closedByTarget}/${run.result.opened} closed by the target`)
      return `${run.result.closedByTarget}/${run.result.opened} connections closed by the target (${run.result.reasons?.[0]})`
    }, ['connections=50', 'seconds=20']))

  it('the target stayed within its memory bound, kept its descriptors, and the good peer stayed in sync', async () => {
    const rssEnd = rssMiB(target.child.pid!)
    const fds = fdCount(target.child.pid!)
    figure(
      'hostile',
      `target RSS ${rssStart.toFixed(0)} MiB at start, max ${rssMax.toFixed(0)} MiB, ${rssEnd.toFixed(0)} MiB at end (bound: +${RSS_GROWTH_BOUND_MIB} MiB); ${fds} open fds; ` +
        `good peer put→get p50 ${percentile(latencies, 0.5).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms over ${latencies.length} checks`,
    )
    assert.ok(rssMax - rssStart < RSS_GROWTH_BOUND_MIB, `target RSS grew by ${(rssMax - rssStart).toFixed(0)} MiB`)
    assert.ok(fds < 200, `target holds ${fds} descriptors`)
  })
})

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}
