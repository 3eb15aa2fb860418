// Issue 12, item 5: a peer must not be able to store documents nobody asked for. A real `tonk-p2p serve`
// (the target) is sent tonk/bulk-docs frames by a hostile that holds the bundle (test/helpers/hostile-peer.ts,
// mode bulk-orphans): 500 valid Automerge documents, none ours, none asked for, none reachable from the
// bundle's tree (one is a directory pointing at the other 499, itself pointed at by nothing). None may
// reach the target's storage; the target keeps answering; a good peer's catch-up still works.
//
// Measured on this machine (2 cores shared with other jobs, load average 8-11, loopback in a namespace);
// the target is stopped gracefully before its data dir is read (automerge-repo writes an imported
// document at shutdown at the latest). Two runs each:
//   BEFORE (bulk.ts imported any valid id): 500 of 500 orphans stored (+500 storage entries), target
//     counters applied 500 / rejected 0, no log line; its status answered in ≤ 1.5 s / 4.6 s during the
//     attack; a good peer then caught up in 6.9 s / 8.7 s from its spawn, applying 526 documents: the
//     500 orphans too (500 in its storage).
//   AFTER (bulk-accept.ts rule): 0 of 500 stored (+0 entries), applied 0 / rejected 500 (all
//     E_BULK_UNREACHABLE), 1 log line for the whole attack; status ≤ 152 ms / 211 ms during it; the good
//     peer caught up in 3.6 s / 5.8 s from its spawn applying its 26 tree documents, 0 rejected, 0 orphans.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle, type LoadedBundle } from '../../src/core/bundle'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import type { BulkCounters } from '../../src/core/protocols/bulk/bulk'
import { encodeKeyComponent } from '../../src/core/store/storage'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { hostileTarget, runHostile } from '../helpers/hostile-run'
import { PeerProcess } from '../helpers/peers'
import { count, figure } from './summary'

const ORPHANS = 500
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, detail?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const got = await check()
    if (got) return got
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `: ${await detail()}` : ''}`)
    await sleep(100)
  }
}

describe('security: bulk catch-up stores only documents we hold, asked for or reach from our tree', function () {
  this.timeout(180_000)
  let dir: string
  let zip: string
  let bundle: LoadedBundle
  const peers: PeerProcess[] = []
  const clients: ControlClient[] = []

  const start = async (name: string, connect?: string[]) => {
    const p = await PeerProcess.start({ bundle: zip, dataDir: join(dir, name), name, args: ['--no-mdns', '--no-exchange', '--log-level', 'warn'], connect })
    peers.push(p)
    const client = (await connectControl(join(dir, name, 'control.sock')))!
    clients.push(client)
    return { p, client, storage: join(dir, name, 'storage') }
  }
  const bulkOf = async (client: ControlClient) => (await client.call<{ bulk?: BulkCounters }>('status')).bulk!

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-bulk-'))
    zip = join(dir, 'b.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', zip])).code, 0)
    bundle = await loadBundle(zip)
  })
  after(async () => {
    for (const c of clients) c.close()
    await Promise.all(peers.map((p) => p.stop()))
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it(`${ORPHANS} unreachable documents in bulk frames: none stored, the target answers, a good peer still catches up`, async () => {
    const target = await start('target')
    // The tree the good peer catches up on: 20 documents in /notes, one three directories deep.
    const paths = [...Array.from({ length: 20 }, (_, i) => `/notes/n${i}`), '/deep/a/b/c']
    for (const path of paths) await target.client.call('put', { path, value: { path } })
    const entriesBefore = readdirSync(target.storage).length

    // Poll the target while the hostile sends: its slowest answer is the responsiveness figure.
    let slowest = 0
    let polling = true
    const poller = (async () => {
      while (polling) {
        const t = performance.now()
        await target.client.call('status')
        slowest = Math.max(slowest, performance.now() - t)
        await sleep(50)
      }
    })()
    const run = await runHostile('bulk-orphans', hostileTarget(target.p.ticket, bundle), [`docs=${ORPHANS}`, 'perFrame=200', 'seconds=4'])
    const ids = run.lines.find((l) => l.event === 'orphans')?.ids as string[] | undefined
    const sent = run.lines.find((l) => l.event === 'bulk-sent')
    assert.ok(ids && ids.length === ORPHANS && sent?.frames >= 3, `the hostile sent its frames: ${JSON.stringify(run.result).slice(0, 300)} ${run.stderr.slice(-500)}`)
    const counters = await until('every orphan applied or rejected', async () => {
      const c = await bulkOf(target.client)
      return c.framesReceived >= sent!.frames && c.docsApplied + c.docsRejected >= ORPHANS && c
    })
    polling = false
    await poller
    const logLines = target.p.stderr.join('').split('\n').filter((l) => l.includes('E_BULK_UNREACHABLE')).length
    const t = performance.now()
    const listing = await target.client.call<unknown[]>('ls', { path: '/notes' })
    const lsMs = performance.now() - t
    assert.equal(target.p.child.exitCode, null, 'the target is still running')
    assert.equal(listing.length, 20)
    assert.ok(slowest < 5000 && lsMs < 5000, `the target kept answering (slowest ${slowest.toFixed(0)} ms, ls ${lsMs.toFixed(0)} ms)`)

    // A good peer with a new data dir: the target pushes it the whole tree in bulk.
    const started = performance.now()
    const good = await start('good', [target.p.ticket])
    const got = await until('the good peer holds the whole tree', async () => {
      const c = await bulkOf(good.client)
      return c.docsApplied >= paths.length + 4 && c // + /notes, /deep, /deep/a, /deep/a/b (the root merges too)
    }, 30_000, async () => `good ${JSON.stringify(await bulkOf(good.client))}, target ${JSON.stringify(await bulkOf(target.client))}\n${good.p.stderr.join('').slice(-1500)}\n${target.p.stderr.join('').slice(-1500)}`)
    const caughtUpMs = performance.now() - started
    for (const path of [paths[0]!, paths[19]!, '/deep/a/b/c']) {
      assert.deepEqual((await good.client.call<{ value: unknown }>('get', { path })).value, { path })
    }

    // automerge-repo writes an imported document at its next change or at shutdown (which saves every
    // handle): stop both gracefully, then look at their data dirs.
    const stop = async (p: typeof target) => {
      p.client.close() // an open control connection holds serve's shutdown
      await p.p.stop(30_000)
      assert.equal(p.p.child.signalCode, null, `${p.p.options.name} stopped by itself (not killed)`)
    }
    await stop(good)
    await stop(target)
    const storedOn = (storage: string) => ids.filter((id) => existsSync(join(storage, encodeKeyComponent(id)))).length
    const stored = storedOn(target.storage)
    const grown = readdirSync(target.storage).length - entriesBefore
    const spread = storedOn(good.storage)
    figure(
      'security',
      `bulk orphans: ${stored} of ${ORPHANS} stored (+${grown} storage entries), target counters applied ${counters.docsApplied} rejected ${counters.docsRejected} in ${sent!.frames} frames, ` +
        `${logLines} E_BULK_UNREACHABLE log line(s); status answered in ≤ ${slowest.toFixed(0)} ms during the attack, ls ${lsMs.toFixed(0)} ms after`,
    )
    figure('security', `bulk orphans: a good peer then caught up in ${caughtUpMs.toFixed(0)} ms from its spawn: applied ${got.docsApplied}, rejected ${got.docsRejected}; ${spread} orphan(s) reached its storage`)
    assert.equal(stored, 0, `${stored} orphan documents reached the target's storage`)
    assert.equal(grown, 0, 'the storage has no new entries')
    assert.equal(spread, 0, 'no orphan reached the good peer')
    assert.equal(got.docsRejected, 0, JSON.stringify(got))
    assert.equal(counters.docsUnreachable, ORPHANS, JSON.stringify(counters))
    assert.ok(logLines >= 1 && logLines <= sent!.frames, `logged per frame, not per document: ${logLines} line(s)`)
    count('security cases')
  })
})
