// Presence digests cost a peer of the bundle bounded memory and time, and make it send nothing back.
// A real `tonk-p2p serve` (the target, host h1) with a legitimate peer connected (h2) is connected by an
// attacker on h2 that holds the bundle: for FLOOD_S seconds it writes, as fast as the stream takes them,
// tonk/presence-digest frames of 1,024 heartbeats each, every one from a participant it made up. Any
// peer can invent participants (a forwarded heartbeat names an origin we cannot check), so a link may
// speak for at most MAX_ORIGINS_PER_LINK of them (net/origin-budget.ts); the rest are ignored. Without
// that budget (measured by hand, 5 s): 53,248 fake beats → RSS +73 MiB kept 15 s later (automerge-repo
// keeps a count per participant it ever saw), and 14,786 ephemeral messages reflected back to the
// attacker once the relay's memory of 1,024 origins ran over. With it (2-core test machine, CI mode, three
// runs): 51-52 digests (53,248 participants, 3.7 MiB) → 4 ephemeral messages back (the target's own
// heartbeats), RSS 119 MiB → +89-97 MiB at the peak (reading and decoding), `status` ≤ 68-90 ms, a friend's
// change 0.6-0.8 s after the flood.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle } from '../../src/core/bundle'
import { connectControl, type ControlClient } from '../../src/core/host/control'
import { MAX_ORIGINS_PER_LINK } from '../../src/core/net/origin-budget'
import type { SessionSnapshot } from '../../src/core/session/session'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { hostileTarget, runHostile } from '../helpers/hostile-run'
import { TestNetwork, type Host } from '../helpers/netns'
import { PeerProcess, waitForDoc } from '../helpers/peers'
import { figure, rssMiB } from './summary'

const CI = process.env.TONK_RELIABILITY === 'ci'
const FLOOD_S = CI ? 5 : 15
const RSS_GROWTH_BOUND_MIB = 160
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('security: presence digests of made-up participants cost bounded memory and time', function () {
  this.timeout(90_000 + FLOOD_S * 1000)
  let net: TestNetwork
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  let control: ControlClient | undefined

  before(async function () {
    assertIsolated()
    if (!TestNetwork.available()) {
      console.log('      (skipped: multi-host tests need root for ip netns)')
      this.skip()
    }
    net = new TestNetwork(2)
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-presence-'))
    bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
  })
  after(async () => {
    control?.close()
    await Promise.all(peers.map((p) => p.stop()))
    net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it(`a ${FLOOD_S} s flood of digests naming new participants: ≤ ${MAX_ORIGINS_PER_LINK} taken, nothing reflected, RSS < +${RSS_GROWTH_BOUND_MIB} MiB, the owner and a peer still served`, async () => {
    const [h1, h2] = net.hosts as [Host, Host]
    const dataDir = join(dir, 'target')
    const target = await PeerProcess.start({ bundle, dataDir, host: h1, name: 'target', args: ['--no-mdns'] })
    peers.push(target)
    const friend = await PeerProcess.start({ bundle, dataDir: join(dir, 'friend'), host: h2, name: 'friend', connect: [target.ticket], args: ['--no-mdns'] })
    peers.push(friend)
    control = (await connectControl(join(dataDir, 'control.sock')))!
    const pid = target.child.pid!
    await sleep(3000) // past the start's own RSS swings (see security-pex.test.ts)
    const info = hostileTarget(target.ticket, await loadBundle(bundle))
    const rssStart = rssMiB(pid)
    let rssMax = rssStart
    const rssSampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(pid) || 0)), 200)
    let statusMax = 0
    let flooding = true
    const statusSampler = (async () => {
      while (flooding) {
        const t = performance.now()
        await control!.call<SessionSnapshot>('status')
        statusMax = Math.max(statusMax, performance.now() - t)
        await sleep(250)
      }
    })()
    try {
      const attack = await runHostile('digest-flood', info, [`seconds=${FLOOD_S}`, 'bind=0.0.0.0:0'], 60_000 + FLOOD_S * 1000, h2.exec)
      flooding = false
      await statusSampler
      const replies = attack.result.replies as Record<string, number>
      assert.ok(attack.result.sent > 0, `the attacker got its frames out: ${JSON.stringify(attack.result).slice(0, 500)}`)
      const t = performance.now()
      assert.equal((await friend.doc(['put', '/notes/after-flood', JSON.stringify({ ok: true })])).code, 0)
      await waitForDoc(dataDir, '/notes/after-flood', (v) => v?.ok === true, 30_000)
      const syncMs = performance.now() - t
      const presence = await runCli(['--json', 'presence', '--data', dataDir])
      assert.equal(presence.code, 0, presence.stderr)
      const listed = (JSON.parse(presence.stdout).peers as unknown[]).length
      clearInterval(rssSampler)
      const growth = rssMax - rssStart
      const reflected = replies.ephemeral ?? 0
      figure(
        'security',
        `presence digest flood (${attack.result.sent} digests, ${attack.result.sent * 1024} made-up participants, ${(attack.result.sentBytes / 1024 / 1024).toFixed(1)} MiB in ${FLOOD_S} s): ` +
          `${listed} participants listed after it, ${reflected} ephemeral messages back to the attacker, RSS ${rssStart.toFixed(0)} MiB → +${growth.toFixed(0)} MiB at the peak, ` +
          `owner's status ≤ ${statusMax.toFixed(0)} ms, a friend's change after it in ${syncMs.toFixed(0)} ms`,
      )
      assert.ok(listed <= MAX_ORIGINS_PER_LINK + 5, `${listed} participants listed`)
      // The target's own heartbeats go to every peer (one per few seconds); forwards of the made-up ones must not.
      assert.ok(reflected <= 10 + FLOOD_S, `${reflected} ephemeral messages went back to the attacker`)
      assert.ok(growth < RSS_GROWTH_BOUND_MIB, `target RSS grew by ${growth.toFixed(0)} MiB`)
      assert.ok(statusMax < 5000, `the owner waited ${statusMax.toFixed(0)} ms for status`)
    } finally {
      flooding = false
      clearInterval(rssSampler)
      await statusSampler.catch(() => {})
    }
  })
})
