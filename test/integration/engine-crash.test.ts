// kill -9 a writing peer at random moments, ≥ 20 rounds. "Acknowledged" = the peer answered a `put`
// on its control socket, which it does only after storage has fsynced and renamed the change into
// place. After every restart each acknowledged write must be there, and a second peer that stayed
// up must converge on all of them.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { startBurst } from '../helpers/crash-burst'
import { PeerProcess } from '../helpers/peers'

const ROUNDS = Number(process.env.TONK_CRASH_ROUNDS ?? 20)

describe('engine: crash safety of a serving peer (kill -9 during bursts of writes)', function () {
  this.timeout(300000)
  let dir: string
  const stopLater: PeerProcess[] = []
  before(() => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-crash-'))
  })
  after(async () => {
    await Promise.all(stopLater.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it(`loses no acknowledged write over ${ROUNDS} kill -9 rounds, and the surviving peer converges`, async () => {
    const bundle = join(dir, 'w.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
    const aDir = join(dir, 'writer')
    let a = await PeerProcess.start({ bundle, dataDir: aDir, name: 'writer' })
    const b = await PeerProcess.start({ bundle, dataDir: join(dir, 'watcher'), name: 'watcher', connect: [a.ticket] })
    stopLater.push(b)
    const acked: string[] = []
    let attempted = 0
    let lost = 0

    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        a = await PeerProcess.start({ bundle, dataDir: aDir, name: 'writer' }) // storage must load every time
        const client = (await connectControl(join(aDir, 'control.sock')))!
        for (const path of acked) {
          const got = await client.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
          if (got?.value?.path !== path) lost++
        }
        client.close()
        if (process.env.TONK_DEBUG) console.log(`round ${round}: ${acked.length} acked, ${lost} lost`)
        assert.equal(lost, 0, `round ${round}: ${lost} acknowledged writes missing after kill -9`)
      }
      const client = (await connectControl(join(aDir, 'control.sock'))) as ControlClient
      const ackedBefore = acked.length
      const burst = startBurst(client, round, (path) => acked.push(path))
      // Kill at a random moment once writes flow: the first puts of a fresh process are slow on a
      // loaded machine, and a kill before any acknowledgement proves nothing.
      for (const until = Date.now() + 10000; acked.length === ackedBefore && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 10))
      }
      await new Promise((r) => setTimeout(r, Math.random() * 300))
      burst.halt()
      await a.kill('SIGKILL')
      await burst.done
      attempted += burst.attempted
      client.close()
    }

    a = await PeerProcess.start({ bundle, dataDir: aDir, name: 'writer' })
    stopLater.push(a)
    const client = (await connectControl(join(aDir, 'control.sock')))!
    for (const path of acked) {
      const got = await client.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
      if (got?.value?.path !== path) lost++
    }
    client.close()

    // The watcher stayed up and redialed the writer after each restart: it must end with every write.
    const started = performance.now()
    const watcher = (await connectControl(join(dir, 'watcher', 'control.sock')))!
    let missingOnWatcher = acked.length
    while (performance.now() - started < 60000) {
      missingOnWatcher = 0
      for (const path of acked) {
        const got = await watcher.call<{ value: { path: string } }>('get', { path }).catch(() => undefined)
        if (got?.value?.path !== path) missingOnWatcher++
      }
      if (missingOnWatcher === 0) break
      await new Promise((r) => setTimeout(r, 250))
    }
    watcher.close()
    console.log(
      `      ${ROUNDS} rounds, ${attempted} writes attempted, ${acked.length} acknowledged, ${lost} lost; ` +
        `watcher converged in ${(performance.now() - started).toFixed(0)} ms with ${missingOnWatcher} missing`,
    )
    assert.equal(lost, 0)
    assert.equal(missingOnWatcher, 0)
    assert.ok(acked.length >= ROUNDS, 'the bursts acknowledged writes at all')
  })
})
