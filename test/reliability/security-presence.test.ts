// Presence digests cost a peer of the bundle bounded memory and time, and make it send nothing back.
// A real `tonk-p2p serve` (the target, host h1) with a legitimate peer connected (h2) is connected by an
// attacker on h2 that holds the bundle: for FLOOD_S seconds it writes, as fast as the stream takes them,
// tonk/presence-digest frames of 1,024 heartbeats each, every one from a participant it made up. Any
// peer can invent participants (a forwarded heartbeat names an origin we cannot check), so a link may
// speak for at most MAX_ORIGINS_PER_LINK of them (net/origin-budget.ts); the rest are ignored. Without
// that budget (measured by hand, 5 s): 53,248 fake beats → RSS +73 MiB kept 15 s later (automerge-repo
// keeps a count per participant it ever saw), and 14,786 ephemeral messages reflected back to the
// attacker once the relay's memory of 1,024 origins ran over. With it (2-core test machine, CI mode, four
// runs): 51-52 digests (53,248 participants, 3.7 MiB) → 4 ephemeral messages back (the target's own
// heartbeats), RSS 119 MiB → +71-97 MiB at the peak (reading and decoding; it comes after the attacker is
// done, as the target works through what was written), `status` ≤ 68-190 ms, a friend's change 0.6-1.0 s
// after the flood.
import assert from 'node:assert/strict'
import { MAX_ORIGINS_PER_LINK } from '../../src/core/net/origin-budget'
import { FloodRig } from '../helpers/flood-rig'
import { runCli } from '../helpers/cli'
import { runHostile } from '../helpers/hostile-run'
import { figure } from './summary'

const CI = process.env.TONK_RELIABILITY === 'ci'
const FLOOD_S = CI ? 5 : 15
const RSS_GROWTH_BOUND_MIB = 160

describe('security: presence digests of made-up participants cost bounded memory and time', function () {
  this.timeout(90_000 + FLOOD_S * 1000)
  let rig: FloodRig | undefined

  before(async function () {
    rig = await FloodRig.setUp(this, 'sec-presence')
  })
  after(() => rig?.tearDown())

  it(`a ${FLOOD_S} s flood of digests naming new participants: ≤ ${MAX_ORIGINS_PER_LINK} taken, nothing reflected, RSS < +${RSS_GROWTH_BOUND_MIB} MiB, the owner and a peer still served`, async () => {
    const { info, h2, dataDir } = rig!
    const watch = rig!.watch()
    try {
      const attack = await runHostile('digest-flood', info, [`seconds=${FLOOD_S}`, 'bind=0.0.0.0:0'], 60_000 + FLOOD_S * 1000, h2.exec)
      const replies = attack.result.replies as Record<string, number>
      assert.ok(attack.result.sent > 0, `the attacker got its frames out: ${JSON.stringify(attack.result).slice(0, 500)}`)
      const syncMs = await rig!.friendChangeArrives('/notes/after-flood')
      const presence = await runCli(['--json', 'presence', '--data', dataDir])
      assert.equal(presence.code, 0, presence.stderr)
      const listed = (JSON.parse(presence.stdout).peers as unknown[]).length
      // The target is still reading what the attacker wrote when the attacker is done: the peak comes late.
      const watched = await watch.stop()
      const growth = watched.rssMax - watched.rssStart
      const reflected = replies.ephemeral ?? 0
      figure(
        'security',
        `presence digest flood (${attack.result.sent} digests, ${attack.result.sent * 1024} made-up participants, ${(attack.result.sentBytes / 1024 / 1024).toFixed(1)} MiB in ${FLOOD_S} s): ` +
          `${listed} participants listed after it, ${reflected} ephemeral messages back to the attacker, RSS ${watched.rssStart.toFixed(0)} MiB → +${growth.toFixed(0)} MiB at the peak, ` +
          `owner's status ≤ ${watched.statusMax.toFixed(0)} ms, a friend's change after it in ${syncMs.toFixed(0)} ms`,
      )
      assert.ok(listed <= MAX_ORIGINS_PER_LINK + 5, `${listed} participants listed`)
      // The target's own heartbeats go to every peer (one per few seconds); forwards of the made-up ones must not.
      assert.ok(reflected <= 10 + FLOOD_S, `${reflected} ephemeral messages went back to the attacker`)
      assert.ok(growth < RSS_GROWTH_BOUND_MIB, `target RSS grew by ${growth.toFixed(0)} MiB`)
      assert.ok(watched.statusMax < 5000, `the owner waited ${watched.statusMax.toFixed(0)} ms for status`)
    } finally {
      await watch.stop()
    }
  })
})
