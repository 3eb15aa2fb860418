// kill -9 at random moments during bursts of writes, ≥ 100 rounds (30 in CI): the writer every round,
// the watcher (which receives the writes over QUIC and stores them) every fourth round, at a random
// moment of the burst. "Acknowledged" = the writer answered `put` on its control socket, which it does
// only after storage fsynced and renamed the change into place. Each restart must load storage and
// hold every write acknowledged so far; at the end the watcher must converge on all of them.
// Builds on test/integration/engine-crash.test.ts (writer only, 20 rounds).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { startBurst } from '../helpers/crash-burst'
import { PeerProcess } from '../helpers/peers'
import { count, figure } from './summary'

const CI = process.env.TONK_RELIABILITY === 'ci'
const ROUNDS = Number(process.env.TONK_CRASH_ROUNDS ?? (CI ? 30 : 100))
const WATCHER_EVERY = 4

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function control(dataDir: string): Promise<ControlClient> {
  const client = await connectControl(join(dataDir, 'control.sock'))
  if (!client) throw new Error(`no control socket in ${dataDir}`)
  return client
}

/** Paths among `paths` that the peer does not have with their own value. */
async function missing(client: ControlClient, paths: readonly string[]): Promise<string[]> {
  const out: string[] = []
  for (const path of paths) {
    const got = await client.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
    if (got?.value?.path !== path) out.push(path)
  }
  return out
}

/** Cheap check of older rounds: every acknowledged name is listed in its round's directory. */
async function missingFromListings(client: ControlClient, byRound: Map<number, string[]>): Promise<number> {
  let lost = 0
  for (const [round, paths] of byRound) {
    const listing = await client.call<Array<{ name: string }>>('ls', { path: `/crash/r${round}` }).catch(() => [])
    const names = new Set(listing.map((e) => e.name))
    for (const p of paths) if (!names.has(p.slice(p.lastIndexOf('/') + 1))) lost++
  }
  return lost
}

describe(`reliability: kill -9 during bursts of writes (${ROUNDS} rounds, writer and watcher)`, function () {
  this.timeout(ROUNDS * 8000 + 120000)
  let dir: string
  const running = new Set<PeerProcess>()
  before(() => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-rel-crash-'))
  })
  after(async () => {
    await Promise.all([...running].map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('storage always loads, no acknowledged write is lost, the watcher converges', async () => {
    const started = performance.now()
    const bundle = join(dir, 'w.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    const aDir = join(dir, 'writer')
    const bDir = join(dir, 'watcher')
    const startWriter = async () => {
      const p = await PeerProcess.start({ bundle, dataDir: aDir, name: 'writer' }) // storage must load every time
      running.add(p)
      return p
    }
    let a = await startWriter()
    const writerTicket = a.ticket
    const startWatcher = async () => {
      const p = await PeerProcess.start({ bundle, dataDir: bDir, name: 'watcher', connect: [writerTicket] })
      running.add(p)
      return p
    }
    let b = await startWatcher()
    const byRound = new Map<number, string[]>()
    const acked: string[] = []
    let attempted = 0
    let lost = 0
    let writerKills = 0
    let watcherKills = 0
    let restarts = 0

    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        a = await startWriter()
        restarts++
        const client = await control(aDir)
        const previous = byRound.get(round - 1) ?? []
        const gone = (await missing(client, previous)).length + (await missingFromListings(client, byRound))
        client.close()
        lost += gone
        assert.equal(gone, 0, `round ${round}: ${gone} acknowledged writes missing after kill -9`)
      }
      const client = await control(aDir)
      const mine: string[] = []
      byRound.set(round, mine)
      const burst = startBurst(client, round, (path) => {
        acked.push(path)
        mine.push(path)
      })
      const burstMs = 200 + Math.random() * 700
      const killWatcher = round % WATCHER_EVERY === WATCHER_EVERY - 1
      if (killWatcher) {
        // The watcher dies while it is receiving and storing the burst.
        await sleep(Math.random() * burstMs)
        await b.kill('SIGKILL')
        running.delete(b)
        watcherKills++
      }
      await sleep(burstMs)
      burst.halt()
      await a.kill('SIGKILL')
      running.delete(a)
      writerKills++
      await burst.done
      attempted += burst.attempted
      client.close()
      if (killWatcher) {
        b = await startWatcher() // its storage must load too
        restarts++
      }
    }

    a = await startWriter()
    const finalClient = await control(aDir)
    const finallyMissing = await missing(finalClient, acked)
    finalClient.close()
    lost += finallyMissing.length

    // The watcher stayed up (or came back) and redialed the writer: it must end with every write.
    const convergeStart = performance.now()
    const watcher = await control(bDir)
    let left = acked.slice()
    while (performance.now() - convergeStart < 90000) {
      left = await missing(watcher, left)
      if (left.length === 0) break
      await sleep(250)
    }
    watcher.close()
    const convergeMs = performance.now() - convergeStart
    const totalS = (performance.now() - started) / 1000
    figure(
      'crash',
      `${ROUNDS} rounds in ${totalS.toFixed(0)} s: ${writerKills} writer + ${watcherKills} watcher kill -9, ${restarts} restarts (storage loaded every time); ` +
        `${attempted} writes attempted, ${acked.length} acknowledged, ${lost} lost; watcher converged in ${convergeMs.toFixed(0)} ms with ${left.length} missing`,
    )
    count('crash rounds', ROUNDS)
    count('crash writes acknowledged', acked.length)
    count('crash writes lost', lost)
    assert.deepEqual(finallyMissing, [], 'acknowledged writes missing at the end')
    assert.equal(lost, 0)
    assert.deepEqual(left.slice(0, 5), [], `watcher misses ${left.length} writes`)
    assert.ok(acked.length >= ROUNDS, 'the bursts acknowledged writes at all')
  })
})
