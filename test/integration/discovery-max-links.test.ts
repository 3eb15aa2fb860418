// maxLinks between separate `tonk-p2p serve` processes over real iroh: five peers that know only a hub
// (by ticket) learn each other through peer exchange. Without a bound they form a full mesh (15 links);
// with `--max-links 2` each dials at most one peer it was told of, and a change still reaches everyone.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess, waitForDoc } from '../helpers/peers'
import { connectControl } from '../../src/core/host/control'

const example = join(repoRoot, 'examples', 'my-world')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('discovery: --max-links bounds the mesh peer exchange builds', function () {
  this.timeout(120000)
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-maxlinks-'))
    bundle = join(dir, 'my-world.zip')
    const r = await runCli(['pack', example, '-o', bundle])
    assert.equal(r.code, 0, r.stderr)
  })
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** Links of every peer once peer exchange had time to act, counted once per pair. */
  async function meshOf(label: string, extra: string[]): Promise<{ edges: number; degrees: number[]; all: PeerProcess[] }> {
    const args = ['--no-mdns', ...extra]
    const hub = await PeerProcess.start({ bundle, dataDir: join(dir, `${label}-hub`), name: `${label}-hub`, args })
    peers.push(hub)
    const spokes = await Promise.all(
      [1, 2, 3, 4, 5].map(async (i) => {
        const p = await PeerProcess.start({ bundle, dataDir: join(dir, `${label}-${i}`), name: `${label}-${i}`, connect: [hub.ticket], args })
        peers.push(p)
        return p
      }),
    )
    const all = [hub, ...spokes]
    await Promise.all(spokes.map((p) => p.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === hub.endpointId, 20000)))
    await sleep(6000)
    const degrees: number[] = []
    for (const p of all) {
      const r = await runCli(['--json', 'peers', '--data', p.options.dataDir])
      assert.equal(r.code, 0, r.stderr)
      degrees.push((JSON.parse(r.stdout).peers as Array<{ state: string }>).filter((x) => x.state === 'connected').length)
    }
    return { edges: degrees.reduce((a, b) => a + b, 0) / 2, degrees, all }
  }

  it('without a bound: a full mesh of 6 peers (15 links)', async () => {
    const { edges, degrees } = await meshOf('full', [])
    assert.equal(edges, 15, `links per peer ${degrees.join(',')}`)
  })

  it('--max-links 2: each peer dials at most one peer it was told of; a change still reaches all', async () => {
    const { edges, degrees, all } = await meshOf('bounded', ['--max-links', '2'])
    // 5 ticket links to the hub, plus at most one discovered dial per spoke (the hub has 5 links: it dials none).
    assert.ok(edges <= 10, `${edges} links (per peer ${degrees.join(',')})`)
    assert.ok(edges >= 5, `${edges} links`)
    const writer = all[5]!
    const control = (await connectControl(join(writer.options.dataDir, 'control.sock')))!
    try {
      await control.call('put', { path: '/notes/max-links', value: { from: 'spoke 5' } })
    } finally {
      control.close()
    }
    await Promise.all(all.slice(0, 5).map((p) => waitForDoc(p.options.dataDir, '/notes/max-links', (v) => (v as { from?: string } | undefined)?.from === 'spoke 5', 20000)))
  })

  it('a peer with 2 × --max-links links turns away a peer that found it through discovery, which does not redial', async () => {
    const connectedIds = async (p: PeerProcess) => {
      const r = await runCli(['--json', 'peers', '--data', p.options.dataDir])
      assert.equal(r.code, 0, r.stderr)
      return (JSON.parse(r.stdout).peers as Array<{ state: string; endpointId: string }>).filter((x) => x.state === 'connected').map((x) => x.endpointId)
    }
    // The hub wants 1 link (trims above 2); a and b dial it by ticket (a person's dials: kept).
    const hub = await PeerProcess.start({ bundle, dataDir: join(dir, 'door-hub'), name: 'door-hub', args: ['--no-mdns', '--max-links', '1'] })
    peers.push(hub)
    const [a, b] = await Promise.all(
      ['a', 'b'].map(async (n) => {
        const p = await PeerProcess.start({ bundle, dataDir: join(dir, `door-${n}`), name: `door-${n}`, connect: [hub.ticket], args: ['--no-mdns'] })
        peers.push(p)
        return p
      }),
    )
    await Promise.all([a!, b!].map((p) => p.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === hub.endpointId, 20000)))
    // The hub's side too: a dialer counts its link a moment before the hub does, and a hub that counts
    // one link when c arrives has room for it (a CI run on a loaded machine met exactly that).
    await Promise.all([a!, b!].map((p) => hub.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === p.endpointId, 20000)))
    // c knows only a; peer exchange tells it of the hub and of b, and it dials both on that word.
    const c = await PeerProcess.start({ bundle, dataDir: join(dir, 'door-c'), name: 'door-c', connect: [a!.ticket], args: ['--no-mdns'] })
    peers.push(c)
    await c.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === b!.endpointId, 20000)
    await sleep(6000)
    assert.deepEqual((await connectedIds(hub)).sort(), [a!.endpointId, b!.endpointId].sort(), 'the hub keeps its two ticket links only')
    assert.ok(!(await connectedIds(c)).includes(hub.endpointId), 'c is not linked to the hub')
    const hubLinks = c.events.filter((e) => e.event === 'peer-connected' && e.peer.endpointId === hub.endpointId).length
    assert.ok(hubLinks <= 1, `c linked to the hub ${hubLinks} times: it must not redial a peer that turned it away`)
  })

  it('--max-links that is not a whole number from 1 to 1024 is a usage error', async () => {
    const r = await runCli(['serve', bundle, '--data', join(dir, 'bad'), '--max-links', '0'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /--max-links wants a whole number/)
  })
})
