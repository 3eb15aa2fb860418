// Faults per link (issue 17) between separate `tonk-p2p serve` processes over real iroh: `tonk-p2p link`
// partitions one of three peers (drop on both its links), both sides write the same document, `--clear`
// heals and all three converge; `--delay 200` measurably delays a change; `peers --json` shows the fault
// and each peer's own links (link reports, the mesh beyond our links).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess, waitForDoc } from '../helpers/peers'
import { connectControl, type ControlClient } from '../../src/core/host/control'

const example = join(repoRoot, 'examples', 'my-world')

describe('link faults: tonk-p2p link between separate processes', function () {
  this.timeout(120000)
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  const clients: ControlClient[] = []
  const start = async (name: string, connect: string[] = []) => {
    const p = await PeerProcess.start({ bundle, dataDir: join(dir, name), connect, name })
    peers.push(p)
    return p
  }
  const byPeer = new Map<PeerProcess, ControlClient>()
  const control = async (p: PeerProcess) => {
    let c = byPeer.get(p)
    if (!c) {
      c = (await connectControl(join(p.options.dataDir, 'control.sock')))!
      clients.push(c)
      byPeer.set(p, c)
    }
    return c
  }
  const connected = (p: PeerProcess, other: PeerProcess) =>
    p.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === other.endpointId, 15000)
  const cli = async (args: string[]) => {
    const r = await runCli(['--json', ...args])
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const get = async (p: PeerProcess, path: string) => (await (await control(p)).call<{ value: unknown }>('get', { path })).value

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-faults-'))
    bundle = join(dir, 'my-world.zip')
    const r = await runCli(['pack', example, '-o', bundle])
    assert.equal(r.code, 0, r.stderr)
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    byPeer.clear()
    await Promise.all(peers.splice(0).map((p) => p.stop()))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it("peers --json shows each peer's own links (link reports): the whole mesh of three from one peer", async () => {
    const a = await start('mesh-a')
    const b = await start('mesh-b', [a.ticket])
    const c = await start('mesh-c', [a.ticket, b.ticket])
    await Promise.all([connected(a, b), connected(a, c), connected(b, c)])
    const deadline = Date.now() + 20000
    let rows: Array<{ endpointId: string; name?: string; links: Array<{ id: string; path: string; rttMs?: number }> }> = []
    const linksOf = (p: PeerProcess) => new Set(rows.find((r) => r.endpointId === p.endpointId)?.links.map((l) => l.id) ?? [])
    for (;;) {
      rows = (await cli(['peers', '--data', a.options.dataDir])).peers
      if (linksOf(b).has(c.endpointId) && linksOf(b).has(a.endpointId) && linksOf(c).has(b.endpointId)) break
      assert.ok(Date.now() < deadline, `link reports never showed the mesh: ${JSON.stringify(rows.map((r) => [r.name, [...linksOf({ endpointId: r.endpointId } as PeerProcess)]]))}`)
      await new Promise((r) => setTimeout(r, 300))
    }
    const bToC = rows.find((r) => r.endpointId === b.endpointId)!.links.find((l) => l.id === c.endpointId)!
    assert.equal(bToC.path, 'direct')
    assert.ok(bToC.rttMs === undefined || bToC.rttMs < 1000, JSON.stringify(bToC))
    // The table says the same in names.
    const table = await runCli(['peers', '--data', a.options.dataDir])
    assert.match(table.stdout, /its links/)
    assert.match(table.stdout, /mesh-c/)
  })

  it('--drop partitions one of three peers, both sides write, --clear heals and all converge', async () => {
    const a = await start('part-a')
    const b = await start('part-b', [a.ticket])
    const c = await start('part-c', [a.ticket, b.ticket])
    await Promise.all([connected(a, b), connected(a, c), connected(b, c)])
    const ca = await control(a)
    const cb = await control(b)
    await ca.call('put', { path: '/shared/note', value: { text: 'start' } })
    await Promise.all([b, c].map((p) => waitForDoc(p.options.dataDir, '/shared/note', (v) => v?.text === 'start', 15000)))

    // A drops both its links; the QUIC connections stay up.
    for (const other of [b, c]) {
      const r = await cli(['link', other.endpointId.slice(0, 10), '--data', a.options.dataDir, '--drop'])
      assert.equal(r.fault?.kind, 'drop')
    }
    await ca.call('put', { path: '/shared/note', value: { text: 'from a', a: true } })
    await cb.call('put', { path: '/shared/note', value: { text: 'from b', b: true } })
    await waitForDoc(c.options.dataDir, '/shared/note', (v) => v?.b === true, 15000)
    await new Promise((r) => setTimeout(r, 1500))
    assert.equal(((await get(a, '/shared/note')) as { b?: boolean }).b, undefined, 'A saw B through the partition')
    assert.equal(((await get(c, '/shared/note')) as { a?: boolean }).a, undefined, 'C saw A through the partition')
    const during = await cli(['peers', '--data', a.options.dataDir])
    const rowB = during.peers.find((p: { endpointId: string }) => p.endpointId === b.endpointId)
    assert.equal(rowB?.state, 'connected', 'a dropped link keeps its connection')
    assert.equal(rowB?.fault?.kind, 'drop')
    assert.ok(rowB.fault.dropped > 0, JSON.stringify(rowB.fault))

    const healStarted = performance.now()
    for (const other of [b, c]) await cli(['link', other.endpointId, '--data', a.options.dataDir, '--clear'])
    const values = await Promise.all(
      [a, b, c].map(async (p) => {
        const deadline = performance.now() + 20000
        for (;;) {
          const v = (await get(p, '/shared/note')) as { a?: boolean; b?: boolean }
          if (v?.a && v?.b) return v
          if (performance.now() > deadline) throw new Error(`${p.options.name} never converged: ${JSON.stringify(v)}`)
          await new Promise((r) => setTimeout(r, 50))
        }
      }),
    )
    const healMs = performance.now() - healStarted
    // The concurrent writes merged the same way everywhere (automerge picks one text, keeps both keys).
    assert.deepEqual(values[1], values[0])
    assert.deepEqual(values[2], values[0])
    const after = await cli(['peers', '--data', a.options.dataDir])
    assert.ok(after.peers.every((p: { fault?: unknown }) => !p.fault), 'faults cleared')
    console.log(`      healed: all three converged ${Math.round(healMs)} ms after --clear`)
  })

  it('--delay 200 delays a change by at least 200 ms; a bad peer name is E_LINK_PEER', async () => {
    const a = await start('delay-a')
    const b = await start('delay-b', [a.ticket])
    await Promise.all([connected(a, b), connected(b, a)])
    const ca = await control(a)
    // Its own connection: a watch holds it.
    const watcher = (await connectControl(join(b.options.dataDir, 'control.sock')))!
    clients.push(watcher)
    const seen: { value: { n?: number }; at: number }[] = []
    void watcher.call('watch', { path: '/delay/x' }, (e: { value: { n?: number } }) => seen.push({ value: e.value, at: performance.now() })).catch(() => {})
    const oneChange = async (n: number) => {
      const t0 = performance.now()
      await ca.call('put', { path: '/delay/x', value: { n } })
      const deadline = t0 + 15000
      for (;;) {
        const hit = seen.find((s) => s.value?.n === n)
        if (hit) return hit.at - t0
        if (performance.now() > deadline) throw new Error(`change ${n} never reached B`)
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    await oneChange(0) // creates the document on both sides
    const base = Math.min(await oneChange(1), await oneChange(2))
    const set = await cli(['link', 'delay-a', '--data', b.options.dataDir, '--delay', '200'])
    assert.equal(set.fault?.label, 'delay 200ms')
    const delayed = Math.min(await oneChange(3), await oneChange(4))
    console.log(`      change A→B: ${Math.round(base)} ms, with --delay 200 on B: ${Math.round(delayed)} ms`)
    assert.ok(delayed >= 200, `a change arrived ${Math.round(delayed)} ms after it was written`)
    // Loose: on a loaded 2-core machine the undelayed baseline itself varies by ~100 ms.
    assert.ok(delayed - base >= 100, `the delay added only ${Math.round(delayed - base)} ms`)
    // The sync round trip (a ping through our framing) carries the delay both ways; QUIC's RTT does not.
    let row: { syncRttMs?: number; rttMs?: number } | undefined
    for (const deadline = Date.now() + 15000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
      row = (await cli(['peers', '--data', b.options.dataDir])).peers.find((p: { endpointId: string }) => p.endpointId === a.endpointId)
      if ((row?.syncRttMs ?? 0) >= 350) break
    }
    console.log(`      B's row for A: QUIC RTT ${row?.rttMs} ms, sync round trip ${row?.syncRttMs} ms`)
    assert.ok((row?.syncRttMs ?? 0) >= 350, `sync round trip ${row?.syncRttMs} ms with 200 ms each way`)

    const bad = await runCli(['--json', 'link', 'nobody-by-this-name', '--data', b.options.dataDir, '--clear'])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stdout, /E_LINK_PEER/)
  })
})
