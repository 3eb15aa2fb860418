// IrohNetworkAdapter on real iroh endpoints over loopback: sync through Repos, refusals, misbehaving
// peers, duplicate connections, restarts, offline/online.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { cbor, Repo, type PeerId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import type { PeerClosedEvent, PeerRefusedEvent, TraceEvent } from '../../src/core/net/iroh-adapter'
import { assertIsolated } from '../helpers/ensure-isolated'
import {
  BUNDLE_B,
  eventually,
  makeEndpoint,
  makePeer,
  OTHER_KEY,
  rawClient,
  record,
  sleep,
  waitForEvent,
  type TestPeer,
} from '../helpers/net-fixtures'

type Doc = { text?: string; n?: number }

/** The restart test runs the remote peer in its own process, as a real restart would. */
async function startChild(dataDir: string, bindAddr: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'helpers', 'net-peer-child.ts'), dataDir, bindAddr], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines: string[] = []
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l)
    for (const w of waiters.splice(0)) w()
  })
  const waitFor = async (match: (line: string) => boolean, ms = 15_000) => {
    const until = Date.now() + ms
    for (;;) {
      const hit = lines.find(match)
      if (hit) return hit
      if (Date.now() > until) throw new Error(`child never printed the expected line; got ${JSON.stringify(lines)}`)
      await new Promise<void>((r) => {
        waiters.push(r)
        setTimeout(r, 200)
      })
    }
  }
  const info = JSON.parse(await waitFor((l) => l.startsWith('{"id"'))) as { id: string; ticket: string; port: string }
  return {
    info,
    waitFor,
    send: (line: string) => child.stdin!.write(line + '\n'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

describe('IrohNetworkAdapter on real endpoints', function () {
  this.timeout(60_000)
  const cleanups: Array<() => Promise<unknown>> = []
  const peer = async (...args: Parameters<typeof makePeer>) => {
    const p = await makePeer(...args)
    cleanups.push(() => p.close())
    return p
  }
  before(async () => {
    assertIsolated()
    await initAutomerge()
  })
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c().catch(() => {})))
  })

  const connected = (p: TestPeer, other: TestPeer) => p.adapter.peerInfo(other.id)?.state === 'connected'

  it('syncs a document between two Repos, both ways, and reports per-peer info and traces', async () => {
    const a = await peer({ hello: { peerName: 'alice laptop' } })
    const b = await peer({ hello: { peerName: 'bob desktop' } })
    const traces: TraceEvent[] = []
    b.adapter.events.on('trace', (t) => traces.push(t))
    const ra = new Repo({ network: [a.adapter], peerId: 'alice' as PeerId })
    const rb = new Repo({ network: [b.adapter], peerId: 'bob' as PeerId })
    b.adapter.dial(a.ticket)
    await eventually(() => connected(a, b) && connected(b, a), 10_000, 'connection')

    const ha = ra.create<Doc>({ text: 'hello' })
    const hb = await rb.find<Doc>(ha.url)
    assert.equal(hb.doc().text, 'hello')
    hb.change((d) => (d.n = 42))
    await eventually(() => ha.doc().n === 42, 10_000, 'change to come back')

    const info = b.adapter.peerInfo(a.id)!
    assert.equal(info.peerId, 'alice')
    assert.equal(info.name, 'alice laptop')
    assert.equal(info.direction, 'outbound')
    assert.equal(info.dialed, true)
    assert.equal(info.connections, 1)
    assert.equal(info.path?.kind, 'direct')
    // iroh also binds IPv6 and may pick [::1] over 127.0.0.1 (seen once in CI): either is loopback.
    assert.match(info.path!.remoteAddr, /^(127\.0\.0\.1|\[::1\]):\d+$/)
    assert.ok(info.bytesIn > 0 && info.bytesOut > 0)
    assert.ok(info.connectedAt! <= info.lastSeen!)
    assert.equal(a.adapter.peerInfo(b.id)?.direction, 'inbound')
    assert.ok(traces.some((t) => t.direction === 'in' && t.type === 'sync' && t.documentId === ha.documentId))
    assert.ok(traces.some((t) => t.direction === 'out' && t.peerId === 'alice' && t.bytes > 4))
  })

  it('refuses another build of the app when one side sets strictBuild, with the reason on both sides', async () => {
    const a = await peer({ hello: { strictBuild: true } })
    const b = await peer({ hello: { bundleId: BUNDLE_B } })
    const refusedA = waitForEvent<[PeerRefusedEvent]>(a.adapter.events, 'peer-refused')
    const refusedB = waitForEvent<[PeerRefusedEvent]>(b.adapter.events, 'peer-refused')
    const candidatesA = record(a.adapter, ['peer-candidate'])
    const candidatesB = record(b.adapter, ['peer-candidate'])
    a.adapter.connect('a' as PeerId)
    b.adapter.connect('b' as PeerId)
    b.adapter.dial(a.ticket)
    const [[ea], [eb]] = await Promise.all([refusedA, refusedB])
    assert.equal(ea.code, 'E_BUNDLE_MISMATCH')
    assert.equal(eb.code, 'E_BUNDLE_MISMATCH')
    assert.equal(ea.endpointId, b.id)
    assert.equal(eb.endpointId, a.id)
    assert.match(ea.reason, new RegExp(`^peer ${b.id.slice(0, 8)}… serves build 9c1e1111… of this app but this session serves 71ab0000…, and this session syncs only`))
    assert.equal(eb.reason, `peer ${a.id.slice(0, 8)}… serves build 71ab0000… of this app but this session serves 9c1e1111…, and peer ${a.id.slice(0, 8)}… syncs only with its own build (sync.strictBuild)`)
    await sleep(200)
    assert.deepEqual([...candidatesA, ...candidatesB], [])
    // A permanent refusal backs the dialer off to the cap instead of hammering.
    const row = b.adapter.peerInfo(a.id)!
    assert.equal(row.state, 'backoff')
    assert.match(row.lastError ?? '', /serves build/)
  })

  it('another build of the same app connects and syncs; its build shows on the peer row', async () => {
    const a = await peer()
    const b = await peer({ hello: { bundleId: BUNDLE_B } })
    const ra = new Repo({ network: [a.adapter], peerId: 'alice' as PeerId })
    const rb = new Repo({ network: [b.adapter], peerId: 'bob' as PeerId })
    b.adapter.dial(a.ticket)
    await eventually(() => connected(a, b) && connected(b, a), 10_000, 'connection across builds')
    assert.equal(a.adapter.peerInfo(b.id)?.build, BUNDLE_B)
    const ha = ra.create<Doc>({ n: 7 })
    const hb = await rb.find<Doc>(ha.url)
    assert.equal(hb.doc().n, 7)
  })

  it('a stranger (another key) is refused with E_REFUSED alone on the wire; neither side connects or learns a name', async () => {
    const a = await peer({ hello: { peerName: 'alice-secret-name' } })
    const stranger = await peer({ adapter: { handshakeKey: OTHER_KEY }, hello: { peerName: 'stranger' } })
    const refusedA = waitForEvent<[PeerRefusedEvent]>(a.adapter.events, 'peer-refused')
    const refusedS = waitForEvent<[PeerRefusedEvent]>(stranger.adapter.events, 'peer-refused')
    const candidates = [...record(a.adapter, ['peer-candidate']), ...record(stranger.adapter, ['peer-candidate'])]
    a.adapter.connect('a' as PeerId)
    stranger.adapter.connect('s' as PeerId)
    stranger.adapter.dial(a.ticket)
    const [[ea], [es]] = await Promise.all([refusedA, refusedS])
    assert.equal(ea.code, 'E_REFUSED')
    assert.equal(es.code, 'E_REFUSED')
    assert.match(ea.reason, /does not hold this bundle's key/)
    assert.doesNotMatch(es.reason, /alice-secret-name|71ab/)
    await sleep(200)
    assert.deepEqual(candidates, [])
    assert.equal(stranger.adapter.peerInfo(a.id)?.state, 'backoff', 'a permanent refusal: backed off, not hammered')
  })

  it('a peer on the old protocol (ALPN tonk/sync/1) hears "E_PROTOCOL_TOO_OLD" and we log it; nothing else is said', async () => {
    const { alpnBytes, parseDialTarget, TONK_SYNC_ALPN_V1 } = await import('../../src/core/net/endpoint')
    const a = await peer()
    a.adapter.connect('a' as PeerId)
    const old = await makeEndpoint({ alpns: [TONK_SYNC_ALPN_V1] })
    cleanups.push(() => old.close())
    const refused = waitForEvent<[PeerRefusedEvent]>(a.adapter.events, 'peer-refused')
    const conn = await old.connect(parseDialTarget(a.ticket), alpnBytes(TONK_SYNC_ALPN_V1))
    const [e] = await refused
    assert.equal(e.code, 'E_PROTOCOL_TOO_OLD')
    assert.match(e.reason, /protocol too old/)
    assert.match(await conn.closed(), /E_PROTOCOL_TOO_OLD/)
  })

  it('refuses an incompatible protocol version, with the reason on both sides', async () => {
    const a = await peer({ hello: { protocolVersion: '2.0.0', minCompatibleVersion: '2.0.0' } })
    const b = await peer({ hello: { protocolVersion: '1.4.0', minCompatibleVersion: '1.0.0' } })
    const refusedA = waitForEvent<[PeerRefusedEvent]>(a.adapter.events, 'peer-refused')
    const refusedB = waitForEvent<[PeerRefusedEvent]>(b.adapter.events, 'peer-refused')
    a.adapter.connect('a' as PeerId)
    b.adapter.connect('b' as PeerId)
    a.adapter.dial(b.ticket)
    const [[ea], [eb]] = await Promise.all([refusedA, refusedB])
    assert.equal(ea.code, 'E_PROTOCOL_INCOMPATIBLE')
    assert.equal(eb.code, 'E_PROTOCOL_INCOMPATIBLE')
    assert.match(ea.reason, /speaks protocol 1\.4\.0 \(accepts peers from 1\.0\.0\) but this session speaks protocol 2\.0\.0/)
    assert.match(eb.reason, /speaks protocol 2\.0\.0 \(accepts peers from 2\.0\.0\) but this session speaks protocol 1\.4\.0/)
  })

  it('lets allowPeer refuse an endpoint, and the refused side hears why', async () => {
    const a = await peer({ adapter: { allowPeer: () => false } })
    const b = await peer()
    const refusedA = waitForEvent<[PeerRefusedEvent]>(a.adapter.events, 'peer-refused')
    const refusedB = waitForEvent<[PeerRefusedEvent]>(b.adapter.events, 'peer-refused')
    const candidates = record(b.adapter, ['peer-candidate'])
    a.adapter.connect('a' as PeerId)
    b.adapter.connect('b' as PeerId)
    b.adapter.dial(a.ticket)
    const [[ea], [eb]] = await Promise.all([refusedA, refusedB])
    assert.deepEqual([ea.code, ea.by], ['E_NOT_ALLOWED', 'local'])
    assert.deepEqual([eb.code, eb.by], ['E_NOT_ALLOWED', 'remote'])
    assert.match(eb.reason, new RegExp(`peer ${a.id.slice(0, 8)}… refused this session \\(E_NOT_ALLOWED\\)`))
    assert.deepEqual(candidates, [], 'a gated peer is announced only after it accepted')
  })

  it('drops a peer that sends garbage CBOR, and keeps a third peer connected', async () => {
    const victim = await peer()
    const friend = await peer()
    victim.adapter.connect('victim' as PeerId)
    friend.adapter.connect('friend' as PeerId)
    friend.adapter.dial(victim.ticket)
    await eventually(() => connected(victim, friend), 10_000, 'friend')

    const evil = await rawClient(victim.ticket)
    cleanups.push(() => evil.close())
    const closedEvent = waitForEvent<[PeerClosedEvent]>(victim.adapter.events, 'peer-closed', (e) => e.endpointId === evil.id)
    await evil.sendHello('evil')
    await eventually(() => connected(victim, { id: evil.id } as TestPeer), 10_000, 'evil peer handshake')
    await evil.writeFrame(new Uint8Array([0xff, 0xfe, 0x00, 0x13, 0x37])) // not CBOR
    const [ev] = await closedEvent
    assert.equal(ev.code, 'E_MESSAGE_MALFORMED')
    assert.match(ev.reason, /not CBOR/)
    assert.match(await evil.closed(), /E_MESSAGE_MALFORMED/)
    assert.equal(victim.adapter.peerInfo(evil.id), undefined)
    assert.ok(connected(victim, friend) && connected(friend, victim), 'the friend is still connected')
  })

  it('drops a peer that announces an oversized frame, before buffering it, and keeps a third peer', async () => {
    const victim = await peer({ adapter: { maxFrameBytes: 4096 } })
    const friend = await peer()
    victim.adapter.connect('victim' as PeerId)
    friend.adapter.connect('friend' as PeerId)
    friend.adapter.dial(victim.ticket)
    await eventually(() => connected(victim, friend), 10_000, 'friend')
    const rv = new Repo({ network: [], peerId: 'unused' as PeerId })
    void rv

    const evil = await rawClient(victim.ticket)
    cleanups.push(() => evil.close())
    const closedEvent = waitForEvent<[PeerClosedEvent]>(victim.adapter.events, 'peer-closed', (e) => e.endpointId === evil.id)
    await evil.sendHello('evil')
    await eventually(() => connected(victim, { id: evil.id } as TestPeer), 10_000, 'evil peer handshake')
    await evil.writeRaw(new Uint8Array([0x7f, 0xff, 0xff, 0xff])) // claims a 2 GiB frame, sends none of it
    const [ev] = await closedEvent
    assert.equal(ev.code, 'E_FRAME_TOO_LARGE')
    assert.match(ev.reason, /2147483647 bytes exceeds the limit of 4096/)
    assert.ok(connected(victim, friend), 'the friend is still connected')

    // A frame that is valid CBOR but claims another sender is dropped too.
    const liar = await rawClient(victim.ticket)
    cleanups.push(() => liar.close())
    await liar.sendHello('liar')
    await eventually(() => connected(victim, { id: liar.id } as TestPeer), 10_000, 'liar handshake')
    const liarClosed = waitForEvent<[PeerClosedEvent]>(victim.adapter.events, 'peer-closed', (e) => e.endpointId === liar.id)
    await liar.writeFrame(cbor.encode({ type: 'sync', senderId: 'friend', targetId: 'victim', data: new Uint8Array(1) }))
    assert.match((await liarClosed)[0].reason, /as friend, not as itself/)
    assert.ok(connected(victim, friend))
  })

  it('refuses a handshake frame over the handshake limit and a hello that never comes', async () => {
    const victim = await peer({ adapter: { handshakeTimeoutMs: 500 } })
    victim.adapter.connect('victim' as PeerId)
    const big = await rawClient(victim.ticket)
    cleanups.push(() => big.close())
    const refused = waitForEvent<[PeerRefusedEvent]>(victim.adapter.events, 'peer-refused', (e) => e.endpointId === big.id)
    await big.writeRaw(new Uint8Array([0x00, 0x10, 0x00, 0x00])) // 1 MiB hello
    assert.equal((await refused)[0].code, 'E_HANDSHAKE_MALFORMED')

    const silent = await rawClient(victim.ticket)
    cleanups.push(() => silent.close())
    const timedOut = waitForEvent<[PeerRefusedEvent]>(victim.adapter.events, 'peer-refused', (e) => e.endpointId === silent.id)
    await silent.writeRaw(new Uint8Array([0, 0])) // opens the stream, never finishes a frame
    assert.equal((await timedOut)[0].code, 'E_HANDSHAKE_TIMEOUT')
    assert.match(await silent.closed(), /E_HANDSHAKE_TIMEOUT/)
  })

  it('keeps exactly one connection when both sides dial at once, without a disconnect', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await peer()
      const b = await peer()
      const eventsA = record(a.adapter, ['peer-candidate', 'peer-disconnected'])
      const eventsB = record(b.adapter, ['peer-candidate', 'peer-disconnected'])
      const ra = new Repo({ network: [a.adapter], peerId: 'alice' as PeerId })
      const rb = new Repo({ network: [b.adapter], peerId: 'bob' as PeerId })
      a.adapter.dial(b.ticket)
      b.adapter.dial(a.ticket)
      await eventually(
        () => a.adapter.peerInfo(b.id)?.connections === 1 && b.adapter.peerInfo(a.id)?.connections === 1 && connected(a, b) && connected(b, a),
        10_000,
        'one connection each way',
      )
      await sleep(100) // a retired duplicate closes after both halves finish
      assert.deepEqual(
        [...eventsA, ...eventsB].map((e) => e.event),
        ['peer-candidate', 'peer-candidate'],
        `round ${round}: each side announced the other once and never dropped it`,
      )
      // Both sides kept the same connection: the one dialed by the lower endpoint id.
      const lower = a.id < b.id ? a : b
      assert.equal(lower.adapter.peerInfo((lower === a ? b : a).id)?.direction, 'outbound')
      // And it carries sync traffic.
      const ha = ra.create<Doc>({ text: `round ${round}` })
      const hb = await rb.find<Doc>(ha.url)
      assert.equal(hb.doc().text, `round ${round}`)
      await Promise.all(cleanups.splice(0).map((c) => c()))
    }
  })

  it('reconnects to a dialed peer after its process restarts (same identity, same port)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tonk-net-restart-'))
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }))
    const a = await peer()
    const ra = new Repo({ network: [a.adapter], peerId: 'alice' as PeerId })
    const ha = ra.create<Doc>({ text: 'before restart' })

    const first = await startChild(dataDir, '127.0.0.1:0')
    cleanups.push(() => first.stop())
    a.adapter.dial(first.info.ticket)
    await eventually(() => a.adapter.peerInfo(first.info.id)?.state === 'connected', 10_000, 'first connection')
    first.send(`find ${ha.url}`)
    await first.waitFor((l) => l.includes('before restart'))

    const gone = waitForEvent(a.adapter, 'peer-disconnected')
    await first.stop()
    await gone
    await sleep(300) // a few failed redials
    assert.ok(['backoff', 'dialing'].includes(a.adapter.peerInfo(first.info.id)!.state))

    const second = await startChild(dataDir, `127.0.0.1:${first.info.port}`)
    cleanups.push(() => second.stop())
    assert.equal(second.info.id, first.info.id, 'identity.key keeps the endpoint id')
    await waitForEvent(a.adapter, 'peer-candidate')
    second.send(`find ${ha.url}`)
    ha.change((d) => (d.text = 'after restart'))
    await second.waitFor((l) => l.includes('after restart'))
    await second.stop()
  })

  it('goes offline (closing, refusing, not redialing) and back online', async () => {
    const a = await peer()
    const b = await peer()
    const ra = new Repo({ network: [a.adapter], peerId: 'alice' as PeerId })
    const rb = new Repo({ network: [b.adapter], peerId: 'bob' as PeerId })
    a.adapter.dial(b.ticket)
    b.adapter.dial(a.ticket)
    await eventually(() => connected(a, b) && connected(b, a), 10_000, 'connection')
    const ha = ra.create<Doc>({ n: 1 })
    const hb = await rb.find<Doc>(ha.url)

    const bSawClose = waitForEvent<[PeerClosedEvent]>(b.adapter.events, 'peer-closed')
    a.adapter.goOffline()
    assert.equal(a.adapter.isOnline, false)
    const [closed] = await bSawClose
    assert.equal(closed.code, 'E_OFFLINE')
    assert.equal(a.adapter.peerInfo(b.id)?.state, 'offline')
    // b keeps redialing a, and a keeps refusing.
    await sleep(600)
    assert.notEqual(b.adapter.peerInfo(a.id)?.state, 'connected')
    ha.change((d) => (d.n = 2))
    await sleep(200)
    assert.equal(hb.doc().n, 1, 'nothing crosses while offline')

    const back = waitForEvent(b.adapter, 'peer-candidate')
    a.adapter.goOnline()
    await back
    await eventually(() => hb.doc().n === 2, 10_000, 'sync after coming back online')
  })

  it('disconnectPeer closes one peer and stops redialing it', async () => {
    const a = await peer()
    const b = await peer()
    const c = await peer()
    for (const p of [a, b, c]) p.adapter.connect(p.id.slice(0, 6) as PeerId)
    a.adapter.dial(b.ticket)
    a.adapter.dial(c.ticket)
    await eventually(() => connected(a, b) && connected(a, c), 10_000, 'connections')
    a.adapter.disconnectPeer(b.id)
    await eventually(() => b.adapter.peerInfo(a.id) === undefined, 10_000, 'b sees a leave')
    await sleep(400)
    assert.equal(a.adapter.peerInfo(b.id), undefined, 'not redialed')
    assert.ok(connected(a, c))
  })

  it("a person's Disconnect holds: the peer's redials are refused (E_DISCONNECTED) until we dial it again", async () => {
    const a = await peer()
    const b = await peer()
    for (const p of [a, b]) p.adapter.connect(p.id.slice(0, 6) as PeerId)
    a.adapter.dial(b.ticket)
    b.adapter.dial(a.ticket) // b keeps a as a target: it redials as soon as the connection drops
    await eventually(() => connected(a, b) && connected(b, a), 10_000, 'connection')
    const refusedAtB = waitForEvent<[{ code: string; by: string }]>(b.adapter.events, 'peer-refused')
    a.adapter.disconnectPeer(b.id, { hold: true })
    const [refusal] = await refusedAtB
    assert.equal(refusal.code, 'E_DISCONNECTED')
    assert.equal(refusal.by, 'remote')
    await sleep(1000)
    assert.notEqual(a.adapter.peerInfo(b.id)?.state, 'connected', 'still disconnected a second later')
    assert.notEqual(b.adapter.peerInfo(a.id)?.state, 'connected')
    a.adapter.dial(b.ticket)
    await eventually(() => connected(a, b) && connected(b, a), 10_000, 'connected again after dial()')
  })
})
