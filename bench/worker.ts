// One benchmark process = one automerge-repo Repo, as Tonk ran it: a WebSocket sync server, a WebSocket
// client, or a P2P peer (a whole Session: iroh endpoint + IrohNetworkAdapter + crash-safe storage).
// Driven by bench/run.ts over stdin/stdout, one JSON object per line:
//   in:  {id, cmd, ...args}      out: {id, ok: true, result} | {id, ok: false, error}
//   out (unsolicited): {event: 'seen' | 'peer' | 'peer-disconnected', ...}
// Times are `performance.timeOrigin + performance.now()`: one clock for every process on the machine,
// so A's "changed at" and B's "saw it at" subtract to a latency without a round trip through the driver.
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapSpaceStatistics } from 'node:v8'
import { WebSocketServer } from 'ws'
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { Repo, type AnyDocumentId, type DocHandle, type DocumentId, type PeerId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../src/core/util/automerge'
import { CrashSafeStorageAdapter } from '../src/core/store/storage'
import type { IrohNetworkAdapter } from '../src/core/net/iroh-adapter'
import { Session } from '../src/core/session/session'
import { RemoteSession } from '../src/core/session/remote/remote-session'
import { createAdapterPair } from '../test/helpers/docs-pair-adapter'
import { median, percentile } from './lib/stats'
import { linkIntoTree } from '../test/helpers/vfs-tree'

/** Refuse to run where a default route exists: only inside the bench's namespaces (lo, or a test host). */
function assertNoDefaultRoute(): void {
  const routes = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)
  if (routes.some((line) => line.split('\t')[1] === '00000000')) {
    throw new Error('bench worker: this network namespace has a default route; run through `npm run bench`')
  }
}

// BENCH_LOG=1 shows the engine's log on stderr (the driver keeps the last lines for its errors).
const logger = process.env.BENCH_LOG ? { debug: () => {}, info: console.error, warn: console.error, error: console.error } : undefined
const now = () => performance.timeOrigin + performance.now()
const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n')

interface BenchDoc {
  n: number
  title?: string
  text?: string
  tags?: string[]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function benchDoc(i: number, textBytes?: number): BenchDoc {
  if (textBytes) return { n: i, text: 'lorem ipsum dolor sit amet '.repeat(Math.ceil(textBytes / 27)).slice(0, textBytes) }
  return { n: i, title: `document ${i}`, tags: ['bench', `g${i % 10}`] }
}

let repo: Repo | undefined
let session: Session | undefined
let remote: RemoteSession | undefined
let wss: WebSocketServer | undefined
const handles = new Map<string, DocHandle<BenchDoc>>()
let armed: Promise<unknown> | undefined

async function handleOf(url: string): Promise<DocHandle<BenchDoc>> {
  let h = handles.get(url)
  if (!h) {
    h = await repo!.find<BenchDoc>(url as AnyDocumentId)
    handles.set(url, h)
  }
  return h
}

/**
 * BENCH_STAGES=1: stamps where a sync message is on its way through this repo, so the driver can split
 * a change's latency into stages: handed to the network (send) and handed up by it (recv).
 */
function stampStages(r: Repo): void {
  if (!process.env.BENCH_STAGES) return
  const net = r.networkSubsystem as unknown as { send: (m: any) => void; emit: (e: string, ...a: any[]) => boolean }
  const send_ = net.send.bind(net)
  net.send = (m) => {
    if (m.type === 'sync') send({ event: 'stage', stage: 'send', to: m.targetId, t: now() })
    send_(m)
  }
  const emit_ = net.emit.bind(net)
  net.emit = (e, ...a) => {
    if (e === 'message' && a[0]?.type === 'sync') send({ event: 'stage', stage: 'recv', from: a[0].senderId, t: now() })
    return emit_(e, ...a)
  }
  r.on('doc-metrics', (m) => {
    if (m.type === 'generate-sync-message') send({ event: 'stage', stage: 'generated', to: m.forPeer, t: now() })
    if (m.type === 'receive-sync-message') send({ event: 'stage', stage: 'applied', from: m.fromPeer, t: now() })
  })
}

/** Messages this process's Repo received, by type, and their payload bytes: what a change costs in messages. */
const received: Record<string, number> = {}

function wireRepoEvents(r: Repo): void {
  stampStages(r)
  r.networkSubsystem.on('message', (m) => {
    received[m.type] = (received[m.type] ?? 0) + 1
    const bytes = (m as { data?: Uint8Array }).data?.byteLength ?? 0
    received[`${m.type} bytes`] = (received[`${m.type} bytes`] ?? 0) + bytes
  })
  r.networkSubsystem.on('peer', ({ peerId }) => send({ event: 'peer', peerId, t: now() }))
  r.networkSubsystem.on('peer-disconnected', ({ peerId }) => send({ event: 'peer-disconnected', peerId, t: now() }))
}

/**
 * Reports the first peer whose hello completed (the adapter's peer-connected), timed from start().
 * Discovery can connect a peer while start() is still running, before the repo exists, so this
 * watches the session's adapter as soon as start() has made it (a private field: benchmark only).
 */
function watchFirstConnection(s: Session, startedAt: number): void {
  const poll = () => {
    if (session !== s) return
    const adapter = (s as unknown as { adapter?: IrohNetworkAdapter }).adapter
    if (!adapter) {
      if (s.state === 'starting') setImmediate(poll)
      return
    }
    adapter.events.once('peer-connected', (p) => send({ event: 'first-connected', endpointId: p.endpointId, t: now(), ms: now() - startedAt }))
  }
  poll()
}

function rss(): number {
  // Two collections: automerge's WASM frees through FinalizationRegistry callbacks run after the first.
  ;(globalThis as { gc?: () => void }).gc?.()
  ;(globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().rss
}

/**
 * Where the idle RSS is (after rss()'s collections), in bytes: V8's heap, what Node keeps outside it
 * (Buffers, Automerge's WASM memory is in `anon` but not in V8's numbers), the kernel's split of
 * anonymous vs file-backed pages (code of node and of native modules), and the native iroh module's
 * mapped code alone. Linux only (/proc); elsewhere just V8's numbers.
 */
function memoryProfile(): Record<string, number> {
  const m = process.memoryUsage()
  const out: Record<string, number> = { heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external }
  // Where V8's held heap is: the young generation grows with the allocation rate and is given back late.
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') out.newSpace = space.space_size
    if (space.space_name === 'old_space') out.oldSpace = space.space_size
  }
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024
    Object.assign(out, { anon: kb('RssAnon'), file: kb('RssFile'), threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0) })
    // Pss: shared pages (the code of node and iroh, shared by every peer process) counted once per sharer.
    out.pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? 0) * 1024
    let inIroh = false
    let iroh = 0
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ /.test(line)
      if (head) inIroh = /iroh[^/]*\.node$/.test(line)
      else if (inIroh && line.startsWith('Rss:')) iroh += Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024
    }
    out.irohCode = iroh
  } catch {
    // not Linux
  }
  return out
}

const commands: Record<string, (a: any) => Promise<unknown>> = {
  async start(a: { kind: 'p2p' | 'p2p-remote' | 'ws-server' | 'ws-client'; dataDir: string; bundle?: string; bindAddr?: string; url?: string; name?: string; discovery?: boolean | { exchange?: boolean; maxLinks?: number }; bulk?: boolean; bulkSliceMs?: number; presence?: boolean }) {
    // How a received bulk frame is applied (0: whole, as before slicing): the catch-up row compares both.
    if (a.bulkSliceMs !== undefined) process.env.TONK_BULK_SLICE_MS = String(a.bulkSliceMs)
    await initAutomerge()
    await mkdir(a.dataDir, { recursive: true })
    if (a.kind === 'p2p-remote') {
      // The engine on a worker thread of this process (RemoteSession): this thread is the host.
      const r = await RemoteSession.open(a.bundle!, { dataDir: a.dataDir, bindAddr: a.bindAddr ?? '127.0.0.1:0', control: false, peerName: a.name, discovery: { mdns: false, exchange: false }, bulk: a.bulk, logger, workerFile: join(__dirname, '..', 'engine-worker.cjs') })
      await r.start()
      remote = r
      return { ticket: r.ticket, endpointId: r.endpointId }
    }
    if (a.kind === 'p2p') {
      // Discovery off unless asked for: the sync rows compare fixed topologies (who dials whom).
      // An object: peer exchange (no mDNS) with these settings, e.g. a bounded-degree mesh.
      const discovery = a.discovery === true ? {} : typeof a.discovery === 'object' ? { mdns: false, exchange: true, ...a.discovery } : { mdns: false, exchange: false }
      const s = await Session.open(a.bundle!, { dataDir: a.dataDir, bindAddr: a.bindAddr ?? '127.0.0.1:0', control: false, peerName: a.name, discovery, bulk: a.bulk, presence: a.presence, logger })
      session = s
      const started = now()
      const starting = s.start()
      watchFirstConnection(s, started)
      await starting
      repo = s.repo
      wireRepoEvents(repo)
      return { ticket: s.ticket, endpointId: s.endpointId, peerId: repo.peerId, startedAt: started, startMs: now() - started }
    }
    const storage = new CrashSafeStorageAdapter(join(a.dataDir, 'storage'))
    if (a.kind === 'ws-server') {
      // As automerge-repo-sync-server runs it: the server shares nothing unasked (clients ask by id).
      wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
      await new Promise((resolve) => wss!.once('listening', resolve))
      repo = new Repo({ network: [new WebSocketServerAdapter(wss as never)], storage, peerId: `server-${process.pid}` as PeerId, sharePolicy: async () => false })
      wireRepoEvents(repo)
      return { port: (wss.address() as { port: number }).port, peerId: repo.peerId }
    }
    // No adapter yet: `connect` adds it, so a timed fetch can be armed before the connection exists.
    repo = new Repo({ network: [], storage })
    wireRepoEvents(repo)
    if (a.url) repo.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(a.url))
    return { peerId: repo.peerId }
  },

  async connect(a: { url: string }) {
    repo!.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(a.url))
    return { t: now() }
  },

  /**
   * Arms a timed fetch of `urls` that starts the moment this repo sees its first peer: what a fresh
   * peer does when it opens a bundle it has never synced. `armedResult` returns how long it took.
   */
  async armFind(a: { urls: string[]; textBytes?: number }) {
    armed = new Promise((resolve, reject) => {
      repo!.networkSubsystem.once('peer', () => {
        commands.find!(a).then(resolve, reject)
      })
    })
    armed.catch(() => {})
    return {}
  },

  async armedResult() {
    return await armed
  },

  /** Creates `count` documents (small JSON-ish, or one text of `textBytes`) and flushes them to storage. */
  async create(a: { count: number; textBytes?: number }) {
    const urls: string[] = []
    const started = now()
    for (let i = 0; i < a.count; i++) {
      const h = repo!.create<BenchDoc>(benchDoc(i, a.textBytes))
      handles.set(h.url, h)
      urls.push(h.url)
    }
    await repo!.flush()
    return { urls, ms: now() - started }
  },

  /**
   * Creates `count` small documents linked into the session's tree (`perDir` per directory, as an app
   * stores files), so a fresh peer takes them all without asking for any: what a catch-up is.
   */
  async createTree(a: { count: number; perDir: number }) {
    const started = now()
    const urls: string[] = []
    for (let d = 0; d * a.perDir < a.count; d++) {
      const handles: DocHandle<unknown>[] = []
      for (let i = d * a.perDir; i < Math.min(a.count, (d + 1) * a.perDir); i++) {
        const h = repo!.create<BenchDoc>(benchDoc(i))
        urls.push(h.url)
        handles.push(h)
      }
      linkIntoTree(repo!, session!.root, `bench-${d}`, handles)
    }
    await repo!.flush()
    return { urls, ms: now() - started }
  },

  /**
   * A fresh peer's catch-up: dials `ticket` and waits until every one of `urls` is ready here, without
   * asking for any (they come because our tree reaches them). The event loop's delay is sampled every
   * 10 ms from before the dial to the end: what a VS Code extension host would feel.
   */
  async catchUp(a: { ticket: string; urls: string[] }) {
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    // BENCH_LONG_TASKS=1: also lists each stall over 40 ms (end on the hrtime clock in µs, as V8 CPU
    // profiles stamp samples), to find what ran in it (bench/profile-stalls.ts).
    const stalls: [number, number][] = []
    let last = process.hrtime.bigint()
    const lag = process.env.BENCH_LONG_TASKS
      ? setInterval(() => {
          const t = process.hrtime.bigint()
          const ms = Number(t - last) / 1e6 - 10
          if (ms > 40) stalls.push([Number(t / 1000n), ms])
          last = t
        }, 10)
      : undefined
    const started = now()
    const cpu = process.cpuUsage()
    let messagesIn = 0
    const countIn = () => void messagesIn++
    repo?.networkSubsystem.on('message', countIn)
    let waiting = a.urls.map((u) => u.replace(/^automerge:/, '') as DocumentId)
    if (remote) {
      // The engine runs on a worker thread: ask it how many are ready (the documents stay there).
      await remote.dial(a.ticket, 'ticket')
      const ids = waiting
      while ((await remote.call('readyCount', ids)) < ids.length) await sleep(25)
    } else {
      session!.dial(a.ticket, 'ticket')
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          waiting = waiting.filter((id) => !repo!.handles[id]?.isReady())
          if (waiting.length === 0) {
            clearInterval(poll)
            resolve()
          }
        }, 10)
      })
    }
    const ms = now() - started
    const cpuMs = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1000
    repo?.networkSubsystem.off('message', countIn)
    // A stall that ends the catch-up is recorded at the monitor's next tick: let it come.
    await sleep(25)
    loop.disable()
    clearInterval(lag)
    if (lag) send({ event: 'stalls', stalls, from: Number(process.hrtime.bigint() / 1000n) - ms * 1000, count: loop.count })
    const msOf = (ns: number) => ns / 1e6
    return { ms, p99: msOf(loop.percentile(99)), max: msOf(loop.max), mean: msOf(loop.mean), samples: loop.count, cpuMs, messagesIn, bulk: remote ? await remote.call('bulkCounters') : session!.bulkCounters }
  },

  /** Finds every url (in parallel) and checks its content; resolves when all are ready. */
  async find(a: { urls: string[]; textBytes?: number }) {
    const started = now()
    const readyAt: number[] = []
    const found = await Promise.all(a.urls.map((u) => handleOf(u).then((h) => (readyAt.push(now() - started), h))))
    const ms = now() - started
    const at = (p: number) => Math.round(percentile(readyAt, p))
    for (const h of found) {
      const d = h.doc()
      if (typeof d?.n !== 'number') throw new Error(`document ${h.url} arrived without its content`)
      if (a.textBytes && d.text?.length !== a.textBytes) throw new Error(`text document has ${d.text?.length} chars, expected ${a.textBytes}`)
    }
    // When the first, the middle and the last documents were ready: a slow start or a slow tail.
    return { ms, startedAt: started, readyAt: { first: at(0), p50: at(50), p90: at(90) }, cpuMs: process.cpuUsage().user / 1000 }
  },

  /** How many of `urls` this repo holds, ready, in memory (without asking any peer). */
  async holds(a: { urls: string[] }) {
    const ready = a.urls.filter((u) => repo!.handles[u.replace(/^automerge:/, '') as DocumentId]?.isReady()).length
    return { ready }
  },

  /** Reports every change of `url` with the value of `n` and when it was seen. */
  async watch(a: { url: string }) {
    const h = await handleOf(a.url)
    h.on('change', ({ doc }) => send({ event: 'seen', url: a.url, n: doc.n, t: now() }))
    return { n: h.doc()?.n }
  },

  async change(a: { url: string; n: number }) {
    const h = await handleOf(a.url)
    const t = now()
    h.change((d) => {
      d.n = a.n
    })
    if (process.env.BENCH_STAGES) send({ event: 'stage', stage: 'changed', t: now() })
    return { t }
  },

  /**
   * The floor of a fetch: the same documents fetched by a second Repo in this process, over an
   * in-memory adapter pair (one setImmediate per message), no storage. What automerge-repo's own work
   * costs, with no disk and no network; both architectures pay at least this.
   */
  async floor(a: { count: number; textBytes?: number }) {
    await initAutomerge()
    const [x, y] = createAdapterPair()
    const source = new Repo({ network: [x] })
    const urls: string[] = []
    for (let i = 0; i < a.count; i++) urls.push(source.create<BenchDoc>(benchDoc(i, a.textBytes)).url)
    // Timed from the fresh repo's first peer, as the bench's fetch rows are.
    const fresh = new Repo({ network: [y] })
    await new Promise((resolve) => fresh.networkSubsystem.once('peer', resolve))
    const started = now()
    await Promise.all(urls.map((u) => fresh.find(u as AnyDocumentId)))
    const ms = now() - started
    await Promise.all([source.shutdown(), fresh.shutdown()])
    return { ms }
  },

  /** The floor of one change A→B: two Repos in this process over an in-memory pair, spaced like the bench's. */
  async floorLatency(a: { changes: number }) {
    await initAutomerge()
    const [x, y] = createAdapterPair()
    const source = new Repo({ network: [x] })
    const sink = new Repo({ network: [y] })
    await new Promise((resolve) => sink.networkSubsystem.once('peer', resolve))
    const h = source.create<BenchDoc>(benchDoc(0))
    const other = await sink.find<BenchDoc>(h.url)
    const samples: number[] = []
    for (let i = 1; i <= a.changes; i++) {
      await sleep(110 + Math.random() * 40)
      const seen = new Promise<number>((resolve) => other.once('change', () => resolve(now())))
      const t = now()
      h.change((d) => {
        d.n = i
      })
      samples.push((await seen) - t)
    }
    await Promise.all([source.shutdown(), sink.shutdown()])
    return { median: median(samples) }
  },

  async dial(a: { ticket: string }) {
    return { endpointId: session!.dial(a.ticket, 'ticket'), t: now() }
  },

  async disconnect(a: { endpointId: string }) {
    session!.disconnectPeer(a.endpointId)
    return {}
  },

  async stopSession() {
    const s = session
    session = undefined
    repo = undefined
    handles.clear()
    await s?.stop()
    return {}
  },

  async rss() {
    return { rss: rss(), ...memoryProfile() }
  },

  /** CPU this process used so far (every thread: JS, iroh's runtime, libuv), ms, and the messages its Repo received. */
  async cpu(a: { detail?: boolean } = {}) {
    const u = process.cpuUsage()
    return { ms: (u.user + u.system) / 1000, threads: cpuByThreadKind(), received: { ...received }, ...(a.detail && { detail: cpuByThread() }) }
  },

  /** Peers this session is connected to now: how many, and their endpoint ids. */
  async links() {
    const connected = session ? session.peers().filter((p) => p.state === 'connected') : []
    return { links: connected.length, endpointIds: connected.map((p) => p.endpointId) }
  },

  async stop() {
    await remote?.stop()
    await session?.stop()
    if (!session) await repo?.shutdown()
    wss?.close()
    setTimeout(() => process.exit(0), 50)
    return {}
  },
}

async function main(): Promise<void> {
  assertNoDefaultRoute()
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue
    const { id, cmd, ...args } = JSON.parse(line)
    const run = commands[cmd]
    if (!run) {
      send({ id, ok: false, error: `unknown command ${cmd}` })
      continue
    }
    // Commands run concurrently: a slow find must not hold up a change or an rss probe.
    run(args).then(
      (result) => send({ id, ok: true, result }),
      (err) => send({ id, ok: false, error: String(err?.stack ?? err) }),
    )
  }
  // stdin closed: the driver is gone.
  await session?.stop()
  process.exit(0)
}

void main()

/**
 * CPU ms per kind of thread (Linux only; {} elsewhere), from /proc: the JS thread, iroh's tokio runtime,
 * and the rest (libuv's pool for the file system, V8's helpers for GC and compiling: Node 20 names
 * them all "node"); `sys` is the kernel's part of all of them.
 */
function cpuByThreadKind(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const t of cpuByThread()) {
    const kind = t.tid === process.pid ? 'js' : /^tokio/.test(t.comm) ? 'tokio' : 'other'
    out[kind] = (out[kind] ?? 0) + t.userMs + t.sysMs
    // System time apart too (file system calls, sockets, futexes of threads waking each other).
    out.sys = (out.sys ?? 0) + t.sysMs
  }
  return out
}

/** Every thread's CPU so far (Linux; [] elsewhere). */
function cpuByThread(): { tid: number; comm: string; userMs: number; sysMs: number }[] {
  const out: { tid: number; comm: string; userMs: number; sysMs: number }[] = []
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return out
  }
  const tick = 1000 / 100 // USER_HZ is 100 on Linux
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.push({ tid: Number(tid), comm, userMs: Number(fields[11]) * tick, sysMs: Number(fields[12]) * tick })
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}
