// Discovery pieces without the network: mDNS TXT records (privacy tag, 255-byte entries, other bundles
// dropped), ed25519 from iroh's identity, the manager's filtering / dedup / back-off, peer-exchange
// frame validation; then a real two-node DHT on loopback handing each side the other's signed ticket.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { DnsTxt } from 'bonjour-service/dist/lib/dns-txt.js'
import { DhtSource, peerRecordTicket, slotOf } from '../../src/core/discovery/dht'
import { readPexFrame } from '../../src/core/protocols/pex/exchange'
import { ed25519FromSeed, ed25519Verify, mdnsBundleTag } from '../../src/core/discovery/keys'
import { DiscoveryManager, isSocketAddress, type DiscoveryHost, type DiscoveryLimits } from '../../src/core/discovery/manager'
import { mdnsTxt, parseServiceType, readMdnsTxt } from '../../src/core/discovery/mdns'
import type { DiscoveryContext, DiscoverySourceName, PeerCandidate } from '../../src/core/discovery/types'
import { noopLogger } from '../../src/shared/log'
import { EndpointAddr, EndpointId, EndpointTicket, SecretKey } from '../../src/core/net/iroh'
import { join } from 'node:path'
import { repoRoot, runCli } from '../helpers/cli'
import { assertIsolated } from '../helpers/ensure-isolated'

const hex = (n = 32) => randomBytes(n).toString('hex')
const bundleId = 'b'.repeat(64)
const mdnsKey = new Uint8Array(32).fill(3)

describe('discovery: mDNS TXT records', () => {
  const self = { endpointId: hex(), mdnsKey, protocolVersion: '1.0.0' }
  const addresses = ['10.0.0.1:4242', '[fe80::1234:5678:9abc:def0]:4242', '192.168.1.20:4242']

  it('round-trips, every entry ≤ 255 bytes, addresses in separate entries', () => {
    const txt = mdnsTxt(self, 'n1', [...addresses, ...Array.from({ length: 10 }, (_, i) => `10.1.1.${i}:1`)])
    for (const entry of new DnsTxt().encode(txt)) assert.ok(entry.length <= 255, `${entry.length} bytes`)
    assert.equal(Object.keys(txt).filter((k) => /^a\d$/.test(k)).length, 8, 'at most 8 addresses')
    assert.equal(txt.b!.length, 22)
    assert.ok(!JSON.stringify(txt).includes(Buffer.from(mdnsKey).toString('base64url')), 'the key itself is not published')
    const decoded = new DnsTxt().decodeAll(new DnsTxt().encode(txt))
    assert.deepEqual(readMdnsTxt(mdnsKey, decoded), { endpointId: self.endpointId, addresses: [...addresses, ...Array.from({ length: 5 }, (_, i) => `10.1.1.${i}:1`)] })
  })

  it('the tag changes with the nonce and is useless for another bundle', () => {
    assert.notEqual(mdnsBundleTag(mdnsKey, 'n1'), mdnsBundleTag(mdnsKey, 'n2'))
    const txt = mdnsTxt(self, 'n1', addresses)
    assert.equal(readMdnsTxt(new Uint8Array(32).fill(4), txt), undefined)
    assert.equal(readMdnsTxt(mdnsKey, { ...txt, n: 'n2' }), undefined)
    assert.equal(readMdnsTxt(mdnsKey, { ...txt, id: 'zz' }), undefined)
    assert.equal(readMdnsTxt(mdnsKey, { ...txt, v: '1' }), undefined)
    assert.equal(readMdnsTxt(mdnsKey, null), undefined)
    assert.deepEqual(readMdnsTxt(mdnsKey, { ...txt, a0: 'not an address' })?.addresses, addresses.slice(1))
  })

  it('parses service types and refuses others', () => {
    assert.deepEqual(parseServiceType('_tonk-sync._udp'), { type: 'tonk-sync', protocol: 'udp' })
    assert.throws(() => parseServiceType('tonk'), /DNS-SD service type/)
  })

  it('socket addresses', () => {
    for (const ok of ['1.2.3.4:5', '[::1]:65535', '[fe80::1%eth0]:7']) assert.ok(isSocketAddress(ok), ok)
    for (const bad of ['1.2.3.4', '1.2.3.400:5', '1.2.3.4:0', '1.2.3.4:70000', 'host:5', 5, '']) assert.ok(!isSocketAddress(bad), String(bad))
  })
})

describe('discovery: ed25519 from the iroh identity', () => {
  it('the public key of the secret key is the endpoint id; signatures verify, tampered ones do not', () => {
    const key = SecretKey.generate()
    const pair = ed25519FromSeed(Uint8Array.from(key.toBytes()))
    assert.equal(pair.publicKey.toString('hex'), key.public().toString())
    const msg = Buffer.from('hello')
    const sig = pair.sign(msg)
    assert.ok(ed25519Verify(sig, msg, pair.publicKey))
    assert.ok(!ed25519Verify(sig, Buffer.from('hellO'), pair.publicKey))
    assert.ok(!ed25519Verify(sig.subarray(1), msg, pair.publicKey))
    assert.ok(!ed25519Verify(sig, msg, Buffer.alloc(31)))
  })
})

describe('discovery: manager', () => {
  const me = hex()
  let trimmable: { endpointId: string; connectedAt: number }[] = []
  const make = (status: Record<string, 'connected' | 'dialing' | 'unknown'> = {}, limits: DiscoveryLimits = {}) => {
    const calls: string[] = []
    const host: DiscoveryHost = {
      dial: (target, source) => calls.push(`dial ${source} ${target}`),
      status: (id) => status[id] ?? 'unknown',
      label: (id, source) => calls.push(`label ${source} ${id}`),
      forget: (id) => calls.push(`forget ${id}`),
      connectedCount: () => Object.values(status).filter((s) => s === 'connected').length,
      trimCandidates: () => trimmable,
      trim: (id) => calls.push(`trim ${id}`),
      limitDiscoveredLinks: () => {},
    }
    const context = { endpointId: me, mdnsKey, dhtKey: bundleId, mdnsService: '_tonk-sync._udp', protocolVersion: '1.0.0', addresses: () => [], ticket: () => '', secretKey: async () => new Uint8Array(32), logger: noopLogger }
    const m = new DiscoveryManager({ context, host, sources: [], minRedialMs: 50, limits })
    return { m, calls, status }
  }
  const c = (endpointId: string, addresses: string[], source: DiscoverySourceName = 'mdns'): PeerCandidate => ({ endpointId, addresses, source })

  it('never dials itself, malformed ids or candidates without an address', () => {
    const { m, calls } = make()
    m.offer(c(me, ['1.2.3.4:5']))
    m.offer(c('nothex', ['1.2.3.4:5']))
    m.offer(c(hex(), ['garbage']))
    assert.deepEqual(calls, [])
  })

  it('dials a new peer once; re-announcements leave it to the back-off; new addresses redial, rate-limited', async () => {
    const peer = hex()
    const { m, calls, status } = make()
    m.offer(c(peer, ['1.2.3.4:5']))
    assert.deepEqual(calls, [`dial mdns ${peer}@1.2.3.4:5`])
    status[peer] = 'dialing'
    for (let i = 0; i < 5; i++) m.offer(c(peer, ['1.2.3.4:5']))
    assert.equal(calls.length, 1, 'no redial storm')
    m.offer(c(peer, ['5.6.7.8:9']))
    assert.equal(calls.length, 1, 'within minRedialMs')
    await new Promise((r) => setTimeout(r, 60))
    m.offer(c(peer, ['9.9.9.9:9']))
    assert.equal(calls.length, 2)
    assert.match(calls[1]!, /9\.9\.9\.9:9.*5\.6\.7\.8:9.*1\.2\.3\.4:5|9\.9\.9\.9:9/)
  })

  it('connected peers are only labeled; goodbyes stop redials of peers discovery dialed; suppressed peers are left alone', () => {
    const [a, b, x] = [hex(), hex(), hex()]
    const { m, calls, status } = make({ [a]: 'connected' })
    m.offer(c(a, ['1.1.1.1:1'], 'exchange'))
    assert.deepEqual(calls, [`label exchange ${a}`])
    m.offer(c(b, ['2.2.2.2:2']))
    status[b] = 'dialing'
    m.lost(b, 'dht')
    m.lost(b, 'mdns')
    assert.deepEqual(calls.slice(2), [`forget ${b}`])
    m.suppress(x)
    m.offer(c(x, ['3.3.3.3:3']))
    assert.equal(calls.length, 3)
    m.unsuppress(x)
    m.offer(c(x, ['3.3.3.3:3']))
    assert.equal(calls.length, 4)
  })

  it('maxLinks: past it candidates wait on standby; when a link ends the newest waiting one is dialed', async () => {
    const [a, b, c1, d, e] = [hex(), hex(), hex(), hex(), hex()]
    const { m, calls, status } = make({ [a]: 'connected' }, { maxLinks: 2 })
    m.offer(c(b, ['2.2.2.2:2'], 'exchange'))
    status[b] = 'dialing'
    m.offer(c(c1, ['3.3.3.3:3'], 'exchange')) // a connected + b dialing = 2: standby
    m.offer(c(d, ['4.4.4.4:4'], 'exchange')) // standby
    assert.deepEqual(calls.filter((x) => x.startsWith('dial')), [`dial exchange ${b}@2.2.2.2:2`])
    status[b] = 'connected'
    m.offer(c(e, ['5.5.5.5:5'], 'mdns')) // still 2 links: standby
    assert.equal(calls.filter((x) => x.startsWith('dial')).length, 1)
    delete status[a] // a's link ends
    m.peerLeft(a)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(calls.filter((x) => x.startsWith('dial')).slice(1), [`dial mdns ${e}@5.5.5.5:5`], 'one link free: the newest waiting peer')
    status[e] = 'dialing'
    delete status[b]
    m.peerLeft(b)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(calls.filter((x) => x.startsWith('dial')).slice(2), [`dial exchange ${d}@4.4.4.4:4`])
  })

  it('trims links others dialed through discovery above 2 × maxLinks, past the grace, newest first; never without maxLinks', () => {
    const ids = Array.from({ length: 10 }, () => hex())
    const status = Object.fromEntries(ids.map((id) => [id, 'connected' as const]))
    const now = 1_000_000
    // ids[0..5] dialed us through discovery, connected at now - 60 s … now - 10 s; ids[5] only 5 s ago.
    trimmable = ids.slice(0, 6).map((endpointId, i) => ({ endpointId, connectedAt: now - (i === 5 ? 5_000 : 60_000 - i * 10_000) }))
    const { m, calls } = make(status, { maxLinks: 4 }) // high water 8, 10 connected: 2 over
    m.trimLinks(now)
    // ids[5] is inside its grace; the newest two past it are ids[4] and ids[3].
    assert.deepEqual(calls, [`trim ${ids[4]}`, `trim ${ids[3]}`])
    const unbounded = make(status)
    unbounded.m.trimLinks(now)
    assert.deepEqual(unbounded.calls, [])
    trimmable = []
  })

  it('without maxLinks every candidate is dialed (a LAN of a few peers)', () => {
    const { m, calls } = make()
    for (let i = 0; i < 10; i++) m.offer(c(hex(), ['1.2.3.4:5'], 'mdns'))
    assert.equal(calls.filter((x) => x.startsWith('dial')).length, 10)
  })
})

describe('discovery: limits on what peers pass on (security issue 12)', () => {
  const me = hex()
  /** 'refuses': the host cannot dial it (not a key, or over the adapter's limit). */
  const make = (status: Record<string, 'connected' | 'dialing' | 'unknown' | 'refuses'> = {}, limits: DiscoveryLimits = {}) => {
    const calls: string[] = []
    const host: DiscoveryHost = {
      dial: (target, source) => {
        if (status[target.slice(0, 64)] === 'refuses') throw Object.assign(new Error('not a key'), { code: 'E_BAD_TICKET' })
        calls.push(`dial ${source} ${target.slice(0, 64)}`)
      },
      status: (id) => (status[id] === 'refuses' ? 'unknown' : status[id] ?? 'unknown'),
      label: (id, source) => calls.push(`label ${source} ${id}`),
      forget: (id) => calls.push(`forget ${id}`),
      connectedCount: () => Object.values(status).filter((s) => s === 'connected').length,
      trimCandidates: () => [],
      trim: (id) => calls.push(`trim ${id}`),
      limitDiscoveredLinks: () => {},
    }
    const context = { endpointId: me, mdnsKey, dhtKey: bundleId, mdnsService: '_tonk-sync._udp', protocolVersion: '1.0.0', addresses: () => [], ticket: () => '', secretKey: async () => new Uint8Array(32), logger: noopLogger }
    return { m: new DiscoveryManager({ context, host, sources: [], limits }), calls, status }
  }
  /** What `via` passed on to us by peer exchange. */
  const relayed = (via: string, endpointId: string, addresses = ['10.0.0.1:1']): PeerCandidate => ({ endpointId, addresses, source: 'exchange', via })
  const dialed = (calls: string[]) => calls.filter((l) => l.startsWith('dial ')).map((l) => l.split(' ')[2])

  it('one sender names at most maxRelayedPerSender peers we never reached; what it alone named goes when it leaves', () => {
    const { m, calls, status } = make({}, { maxRelayedPerSender: 3 })
    const [liar, honest] = [hex(), hex()]
    const ids = Array.from({ length: 6 }, () => hex())
    for (const id of ids) m.offer(relayed(liar, id))
    assert.deepEqual(dialed(calls), ids.slice(0, 3), 'three named, the rest dropped')
    for (const id of ids.slice(0, 3)) status[id] = 'dialing'
    // ids[0] is also on mDNS (first hand), ids[1] connects, ids[2] is also named by an honest peer.
    m.offer({ endpointId: ids[0]!, addresses: ['10.0.0.9:9'], source: 'mdns' })
    status[ids[1]!] = 'connected'
    m.peerConnected(ids[1]!)
    m.offer(relayed(honest, ids[2]!))
    // Two slots freed (confirmed peers do not count against the sender): two more of its names are taken.
    m.offer(relayed(liar, ids[3]!))
    m.offer(relayed(liar, ids[4]!))
    m.offer(relayed(liar, ids[5]!))
    assert.deepEqual(dialed(calls).slice(3), [ids[3], ids[4]])
    status[ids[3]!] = status[ids[4]!] = 'dialing'
    calls.length = 0
    m.peerLeft(liar)
    assert.deepEqual(calls.sort(), [`forget ${ids[3]}`, `forget ${ids[4]}`].sort(), 'only what it alone named and we never reached')
    assert.equal(m.sizes.senders, 1)
    m.peerLeft(honest)
    assert.deepEqual(calls.slice(2), [`forget ${ids[2]}`])
    assert.equal(m.sizes.senders, 0)
  })

  it('a sender passes on at most relayedBurst entries at once, then relayedPerSecond', async () => {
    const { m, calls } = make({}, { relayedBurst: 5, relayedPerSecond: 20, maxRelayedPerSender: 1000 })
    const sender = hex()
    for (let i = 0; i < 50; i++) m.offer(relayed(sender, hex()))
    assert.equal(dialed(calls).length, 5)
    await new Promise((r) => setTimeout(r, 260))
    for (let i = 0; i < 50; i++) m.offer(relayed(sender, hex()))
    const n = dialed(calls).length - 5
    assert.ok(n >= 3 && n <= 7, `${n} passed after 260 ms at 20/s`)
  })

  it('candidates are bounded: past maxCandidates the oldest neither dialed nor connected goes, else the new one is dropped', () => {
    const { m, calls, status } = make({}, { maxCandidates: 3 })
    const ids = Array.from({ length: 5 }, () => hex())
    for (const id of ids.slice(0, 3)) {
      m.offer({ endpointId: id, addresses: ['10.0.0.1:1'], source: 'mdns' })
      status[id] = 'dialing'
    }
    m.offer({ endpointId: ids[3]!, addresses: ['10.0.0.1:1'], source: 'mdns' })
    assert.equal(m.sizes.candidates, 3)
    assert.deepEqual(dialed(calls), ids.slice(0, 3), 'no room: dropped')
    status[ids[1]!] = 'unknown' // the adapter gave up on it
    m.offer({ endpointId: ids[4]!, addresses: ['10.0.0.1:1'], source: 'mdns' })
    assert.equal(m.sizes.candidates, 3)
    assert.deepEqual(dialed(calls), [...ids.slice(0, 3), ids[4]])
    assert.deepEqual(m.addressesOf(ids[1]!), [], 'the evicted one is gone')
  })

  it('passes on only addresses the peer itself reported, never what another peer told us', () => {
    const { m } = make()
    const [x, y, sender] = [hex(), hex(), hex()]
    m.offer({ endpointId: x, addresses: ['10.0.0.1:1'], source: 'mdns' })
    m.offer(relayed(sender, x, ['6.6.6.6:6']))
    m.offer(relayed(sender, y, ['6.6.6.6:7']))
    assert.deepEqual(m.addressesOf(x), ['10.0.0.1:1'])
    assert.deepEqual(m.addressesOf(y), [])
  })

  it('after the adapter gave up on a peer, another peer naming it does not start the dials again; a first-hand source does', () => {
    const { m, calls } = make({}, { relayedRetryMs: 60_000 })
    const [x, sender] = [hex(), hex()]
    m.offer(relayed(sender, x))
    m.dialDropped(x)
    m.offer(relayed(sender, x, ['10.0.0.2:2']))
    assert.deepEqual(dialed(calls), [x])
    m.offer({ endpointId: x, addresses: ['10.0.0.3:3'], source: 'mdns' })
    assert.deepEqual(dialed(calls), [x, x])
  })

  it('a peer that cannot be dialed (not a key, adapter full) is not remembered and takes no slot of its sender', () => {
    const bad = [hex(), hex(), hex()]
    const { m, calls } = make(Object.fromEntries(bad.map((id) => [id, 'refuses' as const])), { maxRelayedPerSender: 2 })
    const sender = hex()
    for (const id of bad) m.offer(relayed(sender, id))
    assert.deepEqual(m.sizes, { candidates: 0, senders: 1 })
    const good = [hex(), hex()]
    for (const id of good) m.offer(relayed(sender, id))
    assert.deepEqual(dialed(calls), good)
  })

  it('a sender cannot name itself, and a stopped manager holds nothing', async () => {
    const { m, calls } = make()
    const sender = hex()
    m.offer(relayed(sender, sender))
    assert.deepEqual(calls, [])
    m.offer(relayed(sender, hex()))
    assert.deepEqual(m.sizes, { candidates: 1, senders: 1 })
    await m.stop()
    assert.deepEqual(m.sizes, { candidates: 0, senders: 0 })
  })
})

describe('discovery: peer exchange frames', () => {
  it('keeps sane entries and drops the rest', () => {
    const id = hex()
    const peers = [
      { id, addrs: ['1.2.3.4:5', 'x', 7] },
      { id: 'short', addrs: ['1.2.3.4:5'] },
      { id: hex(), addrs: [] },
      null,
      { id: hex(), addrs: 'no' },
    ]
    assert.deepEqual(readPexFrame({ type: 'tonk/pex', peers }), [{ id, addrs: ['1.2.3.4:5'] }])
    assert.deepEqual(readPexFrame({ type: 'tonk/other', peers }), [])
    assert.equal(readPexFrame({ type: 'tonk/pex', peers: Array.from({ length: 500 }, () => ({ id: hex(), addrs: ['1.1.1.1:1'] })) }).length, 64)
  })
})

/** A valid endpoint id (random 32 bytes are not always an ed25519 point). */
const newId = () => SecretKey.generate().public().toString()
/** A real endpoint ticket: `id` at `addresses`. */
const ticketFor = (id: string, addresses = ['127.0.0.1:4000']) => EndpointTicket.fromAddr(new EndpointAddr(EndpointId.fromString(id), null, addresses)).toString()

/** A DHT discovery context for a fresh identity; `ticket` defaults to the identity's own. */
function dhtNode(ticket?: (endpointId: string) => string, accept: (endpointId: string) => boolean = () => true) {
  let key = SecretKey.generate()
  while (!accept(key.public().toString())) key = SecretKey.generate()
  const endpointId = key.public().toString()
  const offers: PeerCandidate[] = []
  const context: DiscoveryContext = {
    endpointId,
    mdnsKey,
    dhtKey: 'test-key',
    mdnsService: '_tonk-sync._udp',
    protocolVersion: '1.0.0',
    addresses: () => ['127.0.0.1:4000'],
    ticket: () => (ticket ? ticket(endpointId) : ticketFor(endpointId)),
    secretKey: async () => Uint8Array.from(key.toBytes()),
    offer: (cand) => offers.push(cand),
    lost: () => {},
    logger: noopLogger,
  }
  return { endpointId, offers, context }
}

describe('discovery: DHT peer records', () => {
  const id = newId()
  const record = (k: string, t: string) => ({ k: Buffer.from(k, 'hex'), v: Buffer.from(JSON.stringify({ t })) })

  it('a record speaks for an endpoint only when signed by it and its ticket names it', () => {
    assert.equal(peerRecordTicket(record(id, ticketFor(id)), id), ticketFor(id))
    const other = newId()
    assert.equal(peerRecordTicket(record(id, ticketFor(other)), id), undefined, 'a ticket of another endpoint')
    assert.equal(peerRecordTicket(record(other, ticketFor(other)), id), undefined, 'signed by another key')
    assert.equal(peerRecordTicket(record(id, 'endpointnot-a-ticket'), id), undefined, 'not a ticket')
    assert.equal(peerRecordTicket(undefined, id), undefined)
  })
})

describe('discovery: a two-node DHT on loopback', function () {
  this.timeout(20000)
  before(() => assertIsolated())

  it('each node finds the other through signed records and offers its ticket; never the public routers', async () => {
    const nodes = [0, 1].map(() => dhtNode())
    const first = new DhtSource({ bootstrap: [], bindHost: '127.0.0.1' })
    await first.start(nodes[0]!.context)
    const second = new DhtSource({ bootstrap: [`127.0.0.1:${first.port}`], bindHost: '127.0.0.1' })
    await second.start(nodes[1]!.context)
    try {
      const deadline = Date.now() + 10000
      while (Date.now() < deadline && !(nodes[0]!.offers.length && nodes[1]!.offers.length)) await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(nodes[0]!.offers[0], { endpointId: nodes[1]!.endpointId, addresses: [], ticket: ticketFor(nodes[1]!.endpointId), source: 'dht' })
      assert.deepEqual(nodes[1]!.offers[0], { endpointId: nodes[0]!.endpointId, addresses: [], ticket: ticketFor(nodes[0]!.endpointId), source: 'dht' })
    } finally {
      await Promise.all([first.stop(), second.stop()])
    }
  })

  it('a forged record (signed by its own key, carrying a ticket of another endpoint) is not offered', async () => {
    // Three members in three different slots: honest h, a forger m whose record names victim v's id
    // at an address of its choosing, and a reader r.
    const victim = newId()
    const honest = dhtNode()
    const used = new Set([slotOf(honest.endpointId)])
    const forger = dhtNode(() => ticketFor(victim, ['127.0.0.1:6666']), (id) => !used.has(slotOf(id)))
    used.add(slotOf(forger.endpointId))
    const reader = dhtNode(undefined, (id) => !used.has(slotOf(id)))
    const h = new DhtSource({ bootstrap: [], bindHost: '127.0.0.1' })
    await h.start(honest.context)
    const m = new DhtSource({ bootstrap: [`127.0.0.1:${h.port}`], bindHost: '127.0.0.1' })
    await m.start(forger.context)
    const r = new DhtSource({ bootstrap: [`127.0.0.1:${h.port}`], bindHost: '127.0.0.1' })
    try {
      // m has read h (so its own records follow at once); then r joins and reads both.
      const deadline = Date.now() + 10000
      while (Date.now() < deadline && !forger.offers.length) await new Promise((res) => setTimeout(res, 50))
      assert.ok(forger.offers.length, 'the forger published and read')
      await new Promise((res) => setTimeout(res, 500))
      await r.start(reader.context)
      const readBy = Date.now() + 10000
      while (Date.now() < readBy && !reader.offers.some((o) => o.endpointId === honest.endpointId)) await new Promise((res) => setTimeout(res, 50))
      assert.ok(reader.offers.some((o) => o.endpointId === honest.endpointId && o.ticket === ticketFor(honest.endpointId)), 'the honest record is offered')
      // r re-reads 2 s after its start: the forged record had every chance to be offered.
      await new Promise((res) => setTimeout(res, 2500))
      const forged = [...reader.offers, ...honest.offers].filter((o) => o.endpointId === forger.endpointId)
      assert.deepEqual(forged, [], 'the forged record is offered to nobody')
      assert.ok(reader.offers.every((o) => EndpointTicket.fromString(o.ticket!).endpointAddr().id().toString() === o.endpointId))
    } finally {
      await Promise.all([h.stop(), m.stop(), r.stop()])
    }
  })

  it('a peer whose identity key does not match its endpoint id cannot publish', async () => {
    const source = new DhtSource({ bootstrap: [] })
    const context = { endpointId: hex(), mdnsKey, dhtKey: bundleId, mdnsService: '_x._udp', protocolVersion: '1.0.0', addresses: () => [], ticket: () => '', secretKey: async () => randomBytes(32), offer: () => {}, lost: () => {}, logger: noopLogger }
    await assert.rejects(source.start(context), /does not match the endpoint id/)
    await source.stop()
  })
})

describe('discovery: build and CLI', function () {
  this.timeout(60000)

  it('the CLI bundle holds one Automerge, the slim one (the WebSocket package imports automerge-repo/slim too)', async () => {
    const esbuild = await import('esbuild')
    const result = await esbuild.build({
      entryPoints: [join(repoRoot, 'src/cli/bin.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      outfile: 'cli.cjs',
      external: ['@number0/iroh', 'cbor-extract', 'vscode'],
      define: { 'import.meta.url': '__url' },
      logLevel: 'silent',
    })
    const inputs = Object.keys(result.metafile.inputs)
    assert.ok(inputs.some((i) => i.includes('automerge-repo-network-websocket/dist/WebSocketClientAdapter.js')), 'the bridge is bundled')
    const automergeEntries = inputs.filter((i) => /@automerge\/automerge\/dist\/mjs\/entrypoints\//.test(i))
    assert.deepEqual(automergeEntries.map((i) => i.replace(/.*entrypoints\//, '')), ['slim.js'])
    assert.ok(!inputs.some((i) => /automerge_wasm_bg\.wasm|fullfat/.test(i)), 'no fullfat entry and no .wasm file')
  })

  it('serve refuses malformed discovery flags before opening anything', async () => {
    const bad = await runCli(['serve', 'nothing.zip', '--data', '/nonexistent', '--dht-bootstrap', 'not-an-address'])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /--dht-bootstrap wants host:port/)
    const port = await runCli(['serve', 'nothing.zip', '--data', '/nonexistent', '--dht-port', '99999'])
    assert.equal(port.code, 2, port.stderr)
    assert.match(port.stderr, /--dht-port wants a UDP port/)
  })
})
