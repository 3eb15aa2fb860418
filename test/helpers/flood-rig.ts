// The stage of the flood tests (test/reliability/security-*.test.ts): two test hosts, the example bundle
// packed, a target `serve` on h1 with a legitimate friend on h2 connected to it, and the target's owner
// on its control socket. watch() samples the target's RSS and how long its owner waits for `status`
// while an attack runs; friendChangeArrives() times a friend's change reaching the target afterwards.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle } from '../../src/core/bundle'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import type { SessionSnapshot } from '../../src/core/session/session'
import { rssMiB } from '../reliability/summary'
import { assertIsolated } from './ensure-isolated'
import { repoRoot, runCli } from './cli'
import { hostileTarget, type HostileTarget } from './hostile-run'
import { TestNetwork, type Host } from './netns'
import { PeerProcess, waitForDoc } from './peers'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Watched {
  rssStart: number
  rssMax: number
  /** The longest the owner waited for `status`, ms. */
  statusMax: number
}

export class FloodRig {
  private constructor(
    readonly net: TestNetwork,
    readonly dir: string,
    readonly bundle: string,
    readonly target: PeerProcess,
    readonly friend: PeerProcess,
    readonly control: ControlClient,
    /** What a hostile that holds the bundle needs to know of the target. */
    readonly info: Required<HostileTarget>,
  ) {}

  get h2(): Host {
    return this.net.hosts[1]!
  }

  get dataDir(): string {
    return this.target.options.dataDir
  }

  /** In a `before` hook: skips the suite where namespaces cannot be made (not root). */
  static async setUp(ctx: Mocha.Context, label: string): Promise<FloodRig> {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      ctx.skip()
    }
    const net = new TestNetwork(2)
    const dir = mkdtempSync(join(tmpdir(), `tonk-${label}-`))
    const peers: PeerProcess[] = []
    try {
      const bundle = join(dir, 'my-world.zip')
      assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
      const [h1, h2] = net.hosts as [Host, Host]
      const dataDir = join(dir, 'target')
      const target = await PeerProcess.start({ bundle, dataDir, host: h1, name: 'target', args: ['--no-mdns'] })
      peers.push(target)
      const friend = await PeerProcess.start({ bundle, dataDir: join(dir, 'friend'), host: h2, name: 'friend', connect: [target.ticket], args: ['--no-mdns'] })
      peers.push(friend)
      const control = (await connectControl(join(dataDir, 'control.sock')))!
      await sleep(3000) // past the start's own RSS swings (see security-pex.test.ts)
      return new FloodRig(net, dir, bundle, target, friend, control, hostileTarget(target.ticket, await loadBundle(bundle)))
    } catch (err) {
      await Promise.all(peers.map((p) => p.stop()))
      net.destroy()
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  /**
   * Samples the target's RSS (every 200 ms) and the owner's `status` time (every 250 ms) until stopped.
   * Stop it after the friend's change, not when the attacker is done: the target is still reading what
   * the attacker wrote by then, and its RSS peaks late.
   */
  watch(): { stop: () => Promise<Watched> } {
    const pid = this.target.child.pid!
    const rssStart = rssMiB(pid)
    let rssMax = rssStart
    const rssSampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(pid) || 0)), 200)
    let statusMax = 0
    let watching = true
    const statusSampler = (async () => {
      while (watching) {
        const t = performance.now()
        await this.control.call<SessionSnapshot>('status')
        statusMax = Math.max(statusMax, performance.now() - t)
        await sleep(250)
      }
    })()
    return {
      stop: async () => {
        watching = false
        clearInterval(rssSampler)
        await statusSampler.catch(() => {})
        return { rssStart, rssMax, statusMax }
      },
    }
  }

  /** The friend writes `path`; resolves with the ms until the target holds it. */
  async friendChangeArrives(path: string): Promise<number> {
    const t = performance.now()
    assert.equal((await this.friend.doc(['put', path, JSON.stringify({ ok: true })])).code, 0)
    await waitForDoc(this.dataDir, path, (v) => v?.ok === true, 30_000)
    return performance.now() - t
  }

  async tearDown(): Promise<void> {
    this.control.close()
    await Promise.all([this.target.stop(), this.friend.stop()])
    this.net.destroy()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
