// Discovery over the Mainline (BitTorrent) DHT with bittorrent-dht. Key material K is the manifest's
// `discovery.dhtKey`, else a key derived from the app's capability (bundle/capability.ts), so only
// holders of the bundle can find (or write) its topic and slots. Records (all standard BEP 5 / BEP 44, so any DHT node stores them):
//
//   topic       T = sha1("tonk/dht/1/topic|" + K)           announce(T, iroh port) + lookup(T)
//   peer record k = our iroh public key (= endpoint id), salt = "tonk/peer/" + hex(T)
//               v = {"t": <endpoint ticket>}, signed with the iroh identity, seq = ms timestamp
//   slot record k = the bundle's rendezvous key (ed25519 seed sha256("tonk/dht/1/rendezvous|" + K)),
//               salt = "tonk/slot/<i>", i = sha1(endpoint id) mod 16, v = 32-byte endpoint id
//
// Why the slots: an announce carries only ip:port, and iroh cannot dial without the endpoint id, while
// a BEP 44 record can only be fetched by someone who knows its key. The slots map "peers of K" to
// endpoint ids; the ticket itself always comes from the peer's own record, signed by its identity (and
// checked against the id). Only holders of K can derive T, the slots or the rendezvous key. Two peers
// sharing a slot overwrite each other; the one left out still reads everyone else's slot and dials them
// (and peer exchange spreads it further), so the mesh still forms.
// The lookup's ip:port answers, a slot record or an announce stored on our own node, and a new node in
// the routing table are triggers: someone may have joined, so we publish and read again (debounced).
import { createHash } from 'node:crypto'
import { networkInterfaces } from 'node:os'
import DHT, { type GetResult } from 'bittorrent-dht'
import { firstLine } from '../util/text'
import { EndpointTicket } from '../net/iroh'
import { dhtRendezvousSeed, dhtTopic, ed25519FromSeed, ed25519Verify, type Ed25519Pair } from './keys'
import type { DiscoveryContext, DiscoverySource } from './types'

export const DHT_SLOTS = 16
/** When to publish and read again after start (ms); then every REFRESH_MAX_MS (BEP 44 items live ~2 h). */
const REFRESH_STEPS_MS = [2000, 5000, 15_000, 30_000, 60_000]
const REFRESH_MAX_MS = 5 * 60_000
const TRIGGER_DEBOUNCE_MS = 150

export interface DhtSourceOptions {
  /** `host:port` nodes to join through. Undefined: BitTorrent's public routers. Empty: start alone. */
  bootstrap?: string[]
  /** UDP port of the DHT node (0: any). A fixed port lets others name this node as their bootstrap. */
  port?: number
  /** Address to bind the DHT socket to; default all interfaces. */
  bindHost?: string
}

/** The public routers bittorrent-dht uses when none are given (documented for README users). */
export const PUBLIC_DHT_ROUTERS = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881']

export const slotOf = (endpointId: string): number => createHash('sha1').update(endpointId).digest()[0]! % DHT_SLOTS
export const peerRecordSalt = (topic: Buffer): Buffer => Buffer.from(`tonk/peer/${topic.toString('hex')}`)
export const slotSalt = (i: number): Buffer => Buffer.from(`tonk/slot/${i}`)
/** BEP 44 target of a mutable item. */
export const mutableTarget = (k: Buffer, salt: Buffer): Buffer => createHash('sha1').update(Buffer.concat([k, salt])).digest()

/** Reads a peer record's value: the ticket, if the record is well-formed. */
export function readPeerRecord(v: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(v.toString('utf8')) as { t?: unknown }
    return typeof parsed.t === 'string' && parsed.t.startsWith('endpoint') && parsed.t.length < 1000 ? parsed.t : undefined
  } catch {
    return undefined
  }
}

/**
 * The ticket of `endpointId`'s peer record, only when the record speaks for that endpoint: signed by
 * `k` (bittorrent-dht checked the signature against k), `k` is the endpoint id we looked up, and the
 * ticket inside names that same endpoint. Without the last check a peer could sign, with its own key, a
 * ticket naming someone else (another peer's id at addresses of its choosing) and have it dialed and
 * shown under its own name.
 */
export function peerRecordTicket(record: Pick<GetResult, 'k' | 'v'> | undefined, endpointId: string): string | undefined {
  if (!record?.k || !Buffer.isBuffer(record.v) || record.k.toString('hex') !== endpointId) return undefined
  const ticket = readPeerRecord(record.v)
  if (!ticket) return undefined
  try {
    return EndpointTicket.fromString(ticket).endpointAddr().id().toString() === endpointId ? ticket : undefined
  } catch {
    return undefined
  }
}

export class DhtSource implements DiscoverySource {
  readonly name = 'dht' as const
  private dht?: DHT
  private context?: DiscoveryContext
  private topic: Buffer = Buffer.alloc(0)
  private identity?: Ed25519Pair
  private rendezvous?: Ed25519Pair
  private refreshTimer?: NodeJS.Timeout
  private triggerTimer?: NodeJS.Timeout
  private refreshStep = 0
  private running = false
  private again = false
  private stopped = false
  /** Counts starts: a timer or callback of an earlier run (before offline) does nothing. */
  private generation = 0
  private lastPort?: number
  private readonly seenAddresses = new Set<string>()
  /** Endpoint ids read from the slots so far. */
  private readonly members = new Set<string>()

  constructor(private readonly options: DhtSourceOptions = {}) {}

  async start(context: DiscoveryContext): Promise<void> {
    this.context = context
    // Restartable (offline → online): a new node, the refresh schedule from the start. Timers of an
    // earlier run check the generation and end.
    this.stopped = false
    this.refreshStep = 0
    this.seenAddresses.clear()
    const generation = ++this.generation
    const key = context.dhtKey
    this.topic = dhtTopic(key)
    this.rendezvous = ed25519FromSeed(dhtRendezvousSeed(key))
    this.identity = ed25519FromSeed(await context.secretKey())
    if (this.identity.publicKey.toString('hex') !== context.endpointId) {
      throw new Error('the identity key does not match the endpoint id; cannot sign DHT records')
    }
    const bootstrap = this.bootstrapList()
    const dht = new DHT({
      bootstrap: bootstrap ?? (undefined as never),
      verify: (sig, msg, pub) => ed25519Verify(sig, msg, pub),
    })
    this.dht = dht
    dht.on('error', (err: Error) => context.logger.warn(`dht: ${firstLine(err)}`))
    dht.on('warning', (err: Error) => context.logger.debug(`dht: ${firstLine(err)}`))
    // A new node in the table: our records may have had nowhere to go before; publish and read again.
    dht.on('node', () => this.trigger())
    dht.on('peer', (peer: { host: string; port: number }, infoHash: Buffer) => {
      if (infoHash.equals(this.topic)) this.sawAddress(`${peer.host}:${peer.port}`)
    })
    dht.on('ready', () => {
      context.logger.debug(`dht: ready with ${dht.toJSON().nodes.length} node(s)`)
      this.trigger()
    })
    // Someone stored a slot record or announced the topic on our node: a member just (re)registered.
    const slotTargets = new Set(Array.from({ length: DHT_SLOTS }, (_, i) => mutableTarget(this.rendezvous!.publicKey, slotSalt(i)).toString('hex')))
    // Only news triggers: members re-publish on every refresh, and reacting to known ones would make
    // two peers ping-pong refreshes forever.
    dht.on('put', (key: Buffer, v: Buffer) => {
      if (!slotTargets.has(key.toString('hex')) || !Buffer.isBuffer(v) || v.length !== 32) return
      const id = v.toString('hex')
      if (id !== context.endpointId && !this.members.has(id)) this.trigger()
    })
    dht.on('announce_peer', (infoHash: Buffer, peer: { host: string; port: number }) => {
      if (infoHash.equals(this.topic)) this.sawAddress(`${peer.host}:${peer.port}`)
    })
    // The port of an earlier run, so nodes that know us find us again after offline → online.
    const port = this.options.port ?? this.lastPort ?? 0
    try {
      await new Promise<void>((resolve, reject) => {
        dht.once('error', reject)
        dht.listen(port, this.options.bindHost, () => {
          dht.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      if (this.options.port !== undefined || this.lastPort === undefined) throw err
      // Taken meanwhile: any port will do.
      this.lastPort = undefined
      await this.stop()
      return this.start(context)
    }
    if (generation !== this.generation || this.stopped) return
    this.lastPort = dht.address().port
    const where = bootstrap === false ? 'alone (no bootstrap nodes)' : bootstrap ? `via ${bootstrap.join(', ')}` : 'via the public BitTorrent routers'
    context.logger.info(`dht: node on UDP ${dht.address().port}, joining ${where}; topic ${this.topic.toString('hex').slice(0, 12)}…`)
    this.scheduleRefresh()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.refreshTimer) clearTimeout(this.refreshTimer)
    if (this.triggerTimer) clearTimeout(this.triggerTimer)
    const dht = this.dht
    this.dht = undefined
    if (!dht) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500)
      try {
        dht.destroy(() => {
          clearTimeout(timer)
          resolve()
        })
      } catch {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  addressesChanged(): void {
    this.trigger()
  }

  /** The UDP port the DHT node listens on (tests name it as a bootstrap). */
  get port(): number | undefined {
    return this.dht?.address().port
  }

  /** Bootstrap list without our own node (every test host may be given the same list). */
  private bootstrapList(): string[] | false | undefined {
    const list = this.options.bootstrap
    if (list === undefined) return undefined
    const own = new Set(Object.values(networkInterfaces()).flatMap((l) => l?.map((a) => a.address) ?? []))
    const others = list.filter((entry) => {
      const i = entry.lastIndexOf(':')
      const host = entry.slice(0, i).replace(/^\[|\]$/g, '')
      return !(own.has(host) && Number(entry.slice(i + 1)) === this.options.port)
    })
    return others.length ? others : false
  }

  private sawAddress(address: string): void {
    if (this.seenAddresses.has(address) || this.context?.addresses().includes(address)) return
    this.seenAddresses.add(address)
    this.trigger()
  }

  private trigger(): void {
    if (this.stopped || this.triggerTimer) return
    this.triggerTimer = setTimeout(() => {
      this.triggerTimer = undefined
      void this.refresh()
    }, TRIGGER_DEBOUNCE_MS)
    this.triggerTimer.unref?.()
  }

  private scheduleRefresh(): void {
    const delay = REFRESH_STEPS_MS[this.refreshStep] ?? REFRESH_MAX_MS
    const generation = this.generation
    this.refreshStep++
    this.refreshTimer = setTimeout(() => {
      void this.refresh().finally(() => {
        if (!this.stopped && generation === this.generation) this.scheduleRefresh()
      })
    }, delay)
    this.refreshTimer.unref?.()
  }

  /** Publish our records, then read the slots and every member's record. One at a time. */
  private async refresh(): Promise<void> {
    if (this.running) {
      this.again = true
      return
    }
    this.running = true
    try {
      do {
        this.again = false
        const started = Date.now()
        const members = await this.read()
        const read = Date.now()
        await this.publish()
        this.context?.logger.debug(`dht: read ${members} member(s) in ${read - started} ms, published in ${Date.now() - read} ms`)
      } while (this.again && !this.stopped)
    } catch (err) {
      this.context?.logger.debug(`dht: refresh failed: ${firstLine(err)}`)
    } finally {
      this.running = false
    }
  }

  private async publish(): Promise<void> {
    const { dht, context, identity, rendezvous } = this
    if (!dht || !context || !identity || !rendezvous) return
    const addresses = context.addresses()
    const port = addresses.map((a) => Number(a.slice(a.lastIndexOf(':') + 1))).find((p) => p > 0)
    const seq = Date.now()
    const id = Buffer.from(context.endpointId, 'hex')
    // bittorrent-dht puts to the closest nodes it found for that key the last time (cached 5 min, even
    // when it found none): a fresh traversal of our own record's key refreshes that list. The slot and
    // topic keys were just traversed by read().
    const salt = peerRecordSalt(this.topic)
    await this.call((cb) => dht.get(mutableTarget(identity.publicKey, salt), { salt, cache: false }, cb)).catch(() => undefined)
    const jobs: Promise<unknown>[] = [
      this.call<void>((cb) => dht.put({ k: identity.publicKey, salt, seq, v: Buffer.from(JSON.stringify({ t: context.ticket() })), sign: identity.sign }, (e) => cb(e))),
      this.call<void>((cb) => dht.put({ k: rendezvous.publicKey, salt: slotSalt(slotOf(context.endpointId)), seq, v: id, sign: rendezvous.sign }, (e) => cb(e))),
    ]
    if (port) jobs.push(this.call<void>((cb) => dht.announce(this.topic, port, (e) => cb(e))))
    const results = await Promise.allSettled(jobs)
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]
    if (failed.length) context.logger.debug(`dht: publishing: ${failed.map((f) => firstLine(f.reason)).join('; ')}`)
  }

  /** Reads the slots and the members' records; returns how many members (besides us) it found. */
  private async read(): Promise<number> {
    const { dht, context, rendezvous } = this
    if (!dht || !context || !rendezvous) return 0
    dht.lookup(this.topic)
    const slots = await Promise.all(
      Array.from({ length: DHT_SLOTS }, (_, i) => this.getMutable(mutableTarget(rendezvous.publicKey, slotSalt(i)), slotSalt(i))),
    )
    const ids = new Set<string>()
    for (const slot of slots) if (slot?.v?.length === 32) ids.add(slot.v.toString('hex'))
    ids.delete(context.endpointId)
    for (const id of ids) this.members.add(id)
    const salt = peerRecordSalt(this.topic)
    await Promise.all(
      [...ids].map(async (endpointId) => {
        const record = await this.getMutable(mutableTarget(Buffer.from(endpointId, 'hex'), salt), salt)
        const ticket = peerRecordTicket(record, endpointId)
        if (!ticket) {
          if (record) context.logger.debug(`dht: ignoring the record of ${endpointId.slice(0, 10)}: not a ticket of that endpoint`)
          return
        }
        if (this.stopped) return
        context.offer({ endpointId, addresses: [], ticket, source: 'dht' })
      }),
    )
    return ids.size
  }

  /** Our own store (values others put on us) and the network, newest wins. */
  private async getMutable(target: Buffer, salt: Buffer): Promise<GetResult | undefined> {
    const dht = this.dht
    if (!dht) return undefined
    // get() with its cache answers from our own store only when the value is there and otherwise
    // traverses too; reading the store directly (bittorrent-dht 11's `_values` LRU) saves that second
    // traversal. Values in it were signature-checked when they were put.
    const store = (dht as unknown as { _values?: { get(key: string): GetResult | undefined } })._values
    const local = store?.get(target.toString('hex')) ?? null
    const remote = await this.call<GetResult | null>((cb) => dht.get(target, { salt, cache: false }, cb)).catch(() => null)
    const best = [local, remote].filter((r): r is GetResult => !!r?.v).sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0))[0]
    return best
  }

  private call<T>(fn: (cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      try {
        fn((err, value) => (err ? reject(err) : resolve(value as T)))
      } catch (err) {
        reject(err)
      }
    })
  }
}
