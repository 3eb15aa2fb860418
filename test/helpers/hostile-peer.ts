// A misbehaving peer: a separate process that talks to a real `tonk-p2p serve` over the iroh binding
// directly (endpoint + raw frames), so it can lie and break the protocol in ways the adapter never
// would. One mode per run; it prints JSON lines on stdout ({event: 'result', ...} last) and exits.
//   node --import tsx test/helpers/hostile-peer.ts <mode> <ticket> <bundleId> <namespace> [key=value…]
// `hskey=<64 hex>` is the app's handshake key (the hostile holds the bundle); without it the hostile is
// a stranger with a random key. The result line carries every byte the target sent on the stream
// (`received`, base64, first 256 KiB) and its close reason, for tests of what a stranger learns.
// Modes:
//   stranger           a sealed hello under a key that is not the app's (refused: E_REFUSED, nothing else)
//   wrong-bundle       hello with another bundleId and strictBuild (must be refused: E_BUNDLE_MISMATCH)
//   bad-hello          a hello that is not CBOR (refused: E_HANDSHAKE_MALFORMED)
//   huge-hello         a 1 GiB frame header before any hello (refused: E_HANDSHAKE_MALFORMED)
//   silent             opens a stream, says nothing (refused: E_HANDSHAKE_TIMEOUT)
//   garbage-cbor       valid handshake, then a frame that is not CBOR (dropped: E_MESSAGE_MALFORMED)
//   bad-message        valid handshake, then CBOR that is not a message (dropped: E_MESSAGE_MALFORMED)
//   oversized          valid handshake, then a frame header of 1 GiB (dropped: E_FRAME_TOO_LARGE)
//   spoof-sender       valid handshake, then a sync message whose senderId is another peer's (dropped)
//   spoof-presence     valid handshake, then presence (ephemeral) claiming a direct peer's id (victim=…; ignored)
//   steal-peer-id      hello claiming the automerge peer id of an already connected peer (victim=…)
//   second-hello       valid handshake, then another hello claiming another bundle (dropped)
//   garbage-sync       valid handshake, then sync messages for the root doc with random bytes as data
//   flood              valid handshake, then small messages as fast as it can (seconds=…)
//   request-flood      valid handshake, then count=N (default 10000) automerge-repo `request` messages for
//                      random valid document ids, as fast as the stream takes them; then waits for an
//                      answer to each (or `seconds`). The result counts the target's replies by type.
//   many-streams       valid handshake, then opens streams=N extra bi-streams and writes into them
//   connection-flood   opens connections=N connections (from identities=K endpoints) that never send a byte
//   stuff-streams      (valid handshake unless prehello=1) then opens streams=N bi- and N uni-streams and
//                      writes bytes=B into each without the target ever reading them
//   partial-frames     identities=K endpoints, each admitted, each sends the header of a frame=L byte
//                      frame and L-1 bytes of it, then holds (seconds=…)
//   pex-flood          valid handshake listing the 'pex' feature, then peer-exchange frames naming ids=N
//                      made-up endpoint ids (valid keys; 64 a frame, frames=N a second), each at addrs=K
//                      random addresses in net=A.B.C (a /24 the test routes into a namespace where
//                      nobody answers; never an outside address), then stays seconds=S and leaves
//   links-flood        valid handshake listing 'links' and 'actors', then for seconds=S as fast as the
//                      stream takes them: link reports of entries=N made-up links, pings, and actor asks
//                      naming entries=N made-up actors (the result counts the pongs and answers it got)
//   digest-flood       valid handshake, then for seconds=S as fast as the stream takes them: presence
//                      digests of beats=N (default 1,024) heartbeats of made-up participants, new each frame
//   bulk-orphans       valid handshake listing 'bulk', then tonk/bulk-docs frames with docs=N (≤ 2,000)
//                      valid Automerge documents nobody asked for: one a directory pointing at the
//                      others, sent last, the rest in frames of perFrame=… (prints their ids first)
// A mode ends when the target closes the connection or after `seconds` (default 20).
import { randomBytes } from 'node:crypto'
import { Automerge, cbor, generateAutomergeUrl, parseAutomergeUrl } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { toNumberArray } from '../../src/core/net/bytes'
import { closeEndpoint, createEndpoint, parseDialTarget, TONK_SYNC_ALPN, alpnBytes } from '../../src/core/net/endpoint'
import { encodeFrame, FrameDecoder } from '../../src/core/net/framing'
import { HANDSHAKE_VERSION, open, seal, sealContext } from '../../src/core/net/handshake'
import { SecretKey, type Connection, type RecvStream, type SendStream } from '../../src/core/net/iroh'

const [mode, ticket, bundleId, namespace, ...rest] = process.argv.slice(2)
const opts = Object.fromEntries(rest.map((kv) => kv.split('=', 2) as [string, string]))
const seconds = Number(opts.seconds ?? 20)
const out = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify(event) + '\n')

const myPeerId = opts.peerId ?? `hostile-${randomBytes(4).toString('hex')}`
const key: Uint8Array = opts.hskey ? new Uint8Array(Buffer.from(opts.hskey, 'hex')) : new Uint8Array(randomBytes(32))
/** Set once connected: the sealed contexts of both directions (we dial, the target accepts). */
let ours: Uint8Array | undefined
let theirs: Uint8Array | undefined
const helloFields = (overrides: Record<string, unknown> = {}) => ({
  type: 'hello',
  v: HANDSHAKE_VERSION,
  bundleId,
  namespace,
  protocolVersion: '1.0.0',
  minCompatibleVersion: '1.0.0',
  peerName: `hostile ${mode}`,
  peerId: myPeerId,
  isEphemeral: true,
  instanceId: randomBytes(8).toString('hex'),
  ...overrides,
})

const frame = (value: unknown) => toNumberArray(encodeFrame(cbor.encode(value)))
/** Our hello as a real dialer sends it: sealed under `key`. */
const hello = (overrides: Record<string, unknown> = {}) => seal(key, ours!, helloFields(overrides))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Reads frames off the target's half and remembers what it said (its hello, a refusal). */
function listen(recv: RecvStream) {
  const state = {
    remote: undefined as Record<string, any> | undefined,
    refusal: undefined as Record<string, any> | undefined,
    ended: false,
    received: [] as number[],
    /** Messages the target sent after the handshake, by type. */
    types: {} as Record<string, number>,
    /** Documents we asked for (request-flood) … */
    requestedIds: new Set<string>(),
    /** … and those of them the target answered about (doc-unavailable or sync). */
    answeredIds: new Set<string>(),
    /** The document the target's presence heartbeats name (spoof-presence). */
    presenceDocumentId: undefined as string | undefined,
    readError: undefined as string | undefined,
  }
  const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024 })
  void (async () => {
    try {
      for (;;) {
        const chunk = await recv.read(1024 * 1024)
        if (chunk.length === 0) break
        // A loop, not push(...chunk): spreading a large read overflows the call stack.
        for (let i = 0; i < chunk.length && state.received.length < 256 * 1024; i++) state.received.push(chunk[i]!)
        for (const f of decoder.push(chunk)) {
          let m = cbor.decode(f) as Record<string, any>
          if (m?.type === 'sealed') m = (open(key, theirs!, m) as Record<string, any>) ?? { type: 'unopenable' }
          if (m?.type === 'hello') state.remote = m
          else if (m?.type === 'refuse') state.refusal = m
          else if (typeof m?.type === 'string') {
            state.types[m.type] = (state.types[m.type] ?? 0) + 1
            if ((m.type === 'doc-unavailable' || m.type === 'sync') && state.requestedIds.has(m.documentId)) state.answeredIds.add(m.documentId)
            if (m.type === 'ephemeral' && typeof m.documentId === 'string') state.presenceDocumentId ??= m.documentId
          }
        }
      }
    } catch (err) {
      // the target closed the connection (or sent something we could not read: say what)
      state.readError = String(err).split('\n')[0]!
    }
    state.ended = true
  })()
  return state
}

async function main(): Promise<void> {
  await initAutomerge()
  const endpoint = await createEndpoint({ bindAddr: opts.bind ?? '127.0.0.1:0' })
  out({ event: 'endpoint', endpointId: endpoint.id().toString() })
  const addr = parseDialTarget(ticket!)
  const alpn = alpnBytes(TONK_SYNC_ALPN)
  let sent = 0
  let sentBytes = 0
  const started = performance.now()
  const result = (extra: Record<string, unknown>) => out({ event: 'result', mode, sent, sentBytes, ms: Math.round(performance.now() - started), ...extra })
  const closedReason = (conn: Connection) => conn.closeReason() ?? undefined

  if (mode === 'connection-flood') {
    const n = Number(opts.connections ?? 50)
    // identities=K spreads them over K endpoints (one endpoint's connections past a few are closed at once).
    const extra = await Promise.all(Array.from({ length: Number(opts.identities ?? 1) - 1 }, () => createEndpoint({ bindAddr: opts.bind ?? '127.0.0.1:0' })))
    const from = [endpoint, ...extra]
    const conns = await Promise.all(Array.from({ length: n }, (_, i) => from[i % from.length]!.connect(addr, alpn).catch(() => undefined)))
    const opened = conns.filter(Boolean) as Connection[]
    // Wait for the target to give up on each (handshake timeout) or our deadline.
    await Promise.race([Promise.all(opened.map((c) => c.closed().catch(() => {}))), sleep(seconds * 1000)])
    const closed = opened.filter((c) => c.closeReason() !== null).length
    result({ opened: opened.length, closedByTarget: closed, reasons: [...new Set(opened.map(closedReason))].slice(0, 3) })
    await Promise.all(from.map((e) => closeEndpoint(e)))
    return
  }

  if (mode === 'partial-frames') {
    await partialFrames(endpoint)
    return
  }

  const conn = await endpoint.connect(addr, alpn)
  ours = sealContext(TONK_SYNC_ALPN, endpoint.id().toString(), conn.remoteId().toString(), 'dialer')
  theirs = sealContext(TONK_SYNC_ALPN, endpoint.id().toString(), conn.remoteId().toString(), 'acceptor')
  const bi = await conn.openBi()
  const send: SendStream = bi.send
  const state = listen(bi.recv)
  const write = async (bytes: number[]) => {
    await send.writeAll(bytes)
    sent++
    sentBytes += bytes.length
  }
  const closed = new Promise<void>((resolve) => conn.closed().then(() => resolve(), () => resolve()))
  const untilClosed = () => Promise.race([closed, sleep(seconds * 1000)])
  /** Runs a valid handshake; returns the target's hello (its automerge peer id is the targetId). */
  const handshake = async (overrides: Record<string, unknown> = {}) => {
    await write(frame(hello(overrides)))
    for (let i = 0; i < 100 && !state.remote && !state.refusal && !state.ended; i++) await sleep(50)
    return state.remote
  }
  const finish = async (extra: Record<string, unknown> = {}) => {
    result({
      closedByTarget: conn.closeReason() !== null,
      closeReason: closedReason(conn),
      refusal: state.refusal,
      remoteHello: state.remote,
      received: Buffer.from(state.received).toString('base64'),
      replies: state.types,
      readError: state.readError,
      ...extra,
    })
    try {
      conn.close(0n, [])
    } catch {}
    await closeEndpoint(endpoint)
  }
  const message = (remote: Record<string, any>, overrides: Record<string, unknown>) => ({
    type: 'ephemeral',
    senderId: myPeerId,
    targetId: remote.peerId,
    documentId: opts.documentId,
    sessionId: 'hostile',
    count: 0,
    data: new Uint8Array(8),
    ...overrides,
  })

  try {
    switch (mode) {
      case 'stranger':
        await write(frame(hello()))
        break
      case 'wrong-bundle':
        await write(frame(hello({ bundleId: 'f'.repeat(64), strictBuild: true })))
        break
      case 'bad-hello':
        await write(toNumberArray(encodeFrame(new Uint8Array([0xff, 0xfe, 0x00, 0x13, 0x37]))))
        break
      case 'huge-hello':
        await write([0x40, 0, 0, 0, 1, 2, 3])
        break
      case 'silent':
        break
      case 'steal-peer-id':
        await handshake({ peerId: opts.victim })
        break
      case 'stuff-streams':
        if (opts.prehello !== '1') {
          const remote = await handshake()
          if (!remote || state.refusal || state.ended) break
        }
        await stuffStreams()
        break
      case 'bulk-orphans': {
        const remote = await handshake({ features: ['bulk'] })
        if (!remote || state.refusal || state.ended) break
        await bulkOrphans()
        break
      }
      default: {
        const remote = await handshake(mode === 'pex-flood' ? { features: ['pex'] } : mode === 'links-flood' ? { features: ['links', 'actors'] } : {})
        if (!remote || state.refusal || state.ended) break
        await attack(remote)
      }
    }
  } catch (err) {
    out({ event: 'error', message: String(err).split('\n')[0] })
  }
  await untilClosed()
  await finish()

  /** Opens extra streams of both kinds and fills each with bytes the target never asked for. */
  async function stuffStreams(): Promise<void> {
    const n = Number(opts.streams ?? 200)
    const bytes = toNumberArray(new Uint8Array(Number(opts.bytes ?? 1024 * 1024)))
    const deadline = performance.now() + seconds * 1000
    const counts = { bi: 0, uni: 0, written: 0, writtenBytes: 0 }
    const writes: Promise<void>[] = []
    const fill = (s: SendStream) =>
      writes.push(
        s.writeAll(bytes).then(
          () => {
            counts.written++
            counts.writtenBytes += bytes.length
          },
          () => {},
        ),
      )
    const openWithin = <T>(p: Promise<T>) => Promise.race([p, sleep(2000).then(() => undefined)]).catch(() => undefined)
    for (let i = 0; i < n && !state.ended && performance.now() < deadline; i++) {
      const bi = await openWithin(conn.openBi())
      if (bi) {
        counts.bi++
        fill(bi.send)
      }
      const uni = await openWithin(conn.openUni())
      if (uni) {
        counts.uni++
        fill(uni)
      }
      if (!bi && !uni) break // the target's stream limits: QUIC blocks further opens
    }
    await Promise.race([Promise.all(writes), sleep(Math.max(0, deadline - performance.now()))])
    out({ event: 'streams', ...counts })
  }

  /** Documents the target never asked for and cannot reach from its tree: a directory of them, sent last. */
  async function bulkOrphans(): Promise<void> {
    const n = Math.min(Number(opts.docs ?? 500), 2000)
    const perFrame = Math.max(1, Number(opts.perFrame ?? 250))
    const save = (value: Record<string, unknown>) => Automerge.save(Automerge.from(value))
    const urls = Array.from({ length: n - 1 }, () => generateAutomergeUrl())
    const docs: [string, Uint8Array][] = urls.map((url, i) => [parseAutomergeUrl(url).documentId, save({ orphan: i, pad: randomBytes(32).toString('hex') })])
    const dirUrl = generateAutomergeUrl()
    // A DirNode (src/shared/vfs/shapes.ts) pointing at them all, by bare id as Tonk writes it.
    const children = urls.map((url, i) => ({ name: `orphan-${i}`, type: 'document', pointer: parseAutomergeUrl(url).documentId, timestamps: { created: 0, modified: 0 } }))
    docs.push([parseAutomergeUrl(dirUrl).documentId, save({ type: 'directory', name: 'orphans', timestamps: { created: 0, modified: 0 }, children })])
    out({ event: 'orphans', ids: docs.map(([id]) => id) })
    let frames = 0
    for (let i = 0; i < docs.length && !state.ended; i += perFrame) {
      await write(frame({ type: 'tonk/bulk-docs', docs: docs.slice(i, i + perFrame) }))
      frames++
    }
    out({ event: 'bulk-sent', docs: docs.length, frames })
  }

  async function attack(remote: Record<string, any>): Promise<void> {
    switch (mode) {
      case 'garbage-cbor':
        await write(toNumberArray(encodeFrame(new Uint8Array([0xff, 0xff, 0xff, 0x1c, 0x00]))))
        return
      case 'bad-message':
        await write(frame([1, 2, 3]))
        return
      case 'oversized':
        await write([0x40, 0, 0, 0, 9, 9, 9, 9])
        return
      case 'spoof-sender':
        // Only presence may name a sender other than the link's peer (it is forwarded with its origin's id).
        await write(frame(message(remote, { type: 'sync', senderId: opts.victim ?? 'someone-else' })))
        return
      case 'spoof-presence': {
        // The target's presence heartbeat names the document presence runs on (the root).
        const deadline = Date.now() + 20000
        while (!state.presenceDocumentId && !state.ended && Date.now() < deadline) await sleep(50)
        out({ event: 'presence-spoof', documentId: state.presenceDocumentId ?? null })
        const presence = { __presence: { type: 'snapshot', state: { spoofed: 'by hostile' } } }
        await write(frame(message(remote, { senderId: opts.victim ?? 'someone-else', documentId: state.presenceDocumentId, sessionId: 'hostile-spoof', count: 1, data: cbor.encode(presence) })))
        await sleep(1500)
        return
      }
      case 'second-hello':
        await write(frame(hello({ bundleId: 'e'.repeat(64) })))
        return
      case 'garbage-sync':
        for (let i = 0; i < 20 && !state.ended; i++) {
          await write(frame(message(remote, { type: 'sync', data: new Uint8Array(randomBytes(64 + i * 13)) })))
        }
        return
      case 'many-streams': {
        const n = Number(opts.streams ?? 200)
        let opened = 0
        for (let i = 0; i < n && !state.ended; i++) {
          try {
            const extra = await Promise.race([conn.openBi(), sleep(2000).then(() => undefined)])
            if (!extra) break // the target's stream limit: QUIC blocks further opens
            opened++
            void extra.send.writeAll(toNumberArray(new Uint8Array(16 * 1024))).catch(() => {})
          } catch {
            break
          }
        }
        out({ event: 'streams', opened })
        return
      }
      case 'flood': {
        // Batches of small valid messages, as fast as the stream takes them.
        const one = frame(message(remote, {}))
        const batch = new Array<number>(one.length * 64)
        for (let k = 0; k < 64; k++) for (let j = 0; j < one.length; j++) batch[k * one.length + j] = one[j]!
        const deadline = performance.now() + seconds * 1000
        let lastReport = performance.now()
        while (!state.ended && performance.now() < deadline) {
          await send.writeAll(batch)
          sent += 64
          sentBytes += batch.length
          if (performance.now() - lastReport > 1000) {
            lastReport = performance.now()
            out({ event: 'progress', sent, ms: Math.round(lastReport - started) })
          }
        }
        return
      }
      case 'pex-flood': {
        const net = opts.net ?? ''
        if (!/^10\.\d{1,3}\.\d{1,3}$/.test(net)) throw new Error('pex-flood needs net=10.x.y (a test namespace /24)')
        const ids = Number(opts.ids ?? 6400)
        const addrs = Number(opts.addrs ?? 2)
        const perSecond = Number(opts.frames ?? 50)
        const randomAddr = () => `${net}.${2 + Math.floor(Math.random() * 250)}:${1024 + Math.floor(Math.random() * 60000)}`
        let offered = 0
        while (offered < ids && !state.ended) {
          const peers = Array.from({ length: Math.min(64, ids - offered) }, () => ({
            id: SecretKey.generate().public().toString(),
            addrs: Array.from({ length: addrs }, randomAddr),
          }))
          await write(frame({ type: 'tonk/pex', peers }))
          offered += peers.length
          await sleep(1000 / perSecond)
        }
        out({ event: 'offered', ids: offered })
        return
      }
      case 'links-flood': {
        const entries = Number(opts.entries ?? 10_000)
        const links = Array.from({ length: entries }, () => ({ id: randomBytes(32).toString('hex'), path: 'direct', rttMs: Math.random() * 100 }))
        const actors = Array.from({ length: entries }, () => randomBytes(16).toString('hex'))
        const batch = [
          ...frame({ type: 'tonk/links', links }),
          ...frame({ type: 'tonk/actors-ask', n: 1, actors }),
          ...Array.from({ length: 32 }, (_, n) => frame({ type: 'tonk/links-ping', n })).flat(),
        ]
        const deadline = performance.now() + seconds * 1000
        while (!state.ended && performance.now() < deadline) {
          await send.writeAll(batch)
          sent += 34
          sentBytes += batch.length
        }
        return
      }
      case 'digest-flood': {
        // Presence digests (tonk/presence-digest) of beats=N heartbeats from made-up participants, new
        // ones in every frame, on the document presence runs on, as fast as the stream takes them.
        const deadline0 = Date.now() + 20000
        while (!state.presenceDocumentId && !state.ended && Date.now() < deadline0) await sleep(50)
        const n = Number(opts.beats ?? 1024)
        const deadline = performance.now() + seconds * 1000
        while (!state.ended && performance.now() < deadline) {
          const beats = Array.from({ length: n }, () => [`fake-${randomBytes(12).toString('hex')}`, randomBytes(5).toString('hex'), 1, state.presenceDocumentId])
          const bytes = frame({ type: 'tonk/presence-digest', beats })
          await send.writeAll(bytes)
          sent++
          sentBytes += bytes.length
        }
        return
      }
      case 'request-flood': {
        // What a Repo sends for a document it lacks: a request carrying the first sync message of an empty doc.
        const [, data] = Automerge.generateSyncMessage(Automerge.init(), Automerge.initSyncState())
        const n = Number(opts.count ?? 10_000)
        const deadline = performance.now() + seconds * 1000
        let requests = 0
        let lastReport = performance.now()
        try {
          while (requests < n && !state.ended && performance.now() < deadline) {
            const batch: number[] = []
            for (let k = 0; k < 64 && requests < n; k++, requests++) {
              const documentId = parseAutomergeUrl(generateAutomergeUrl()).documentId
              state.requestedIds.add(documentId)
              batch.push(...frame({ type: 'request', senderId: myPeerId, targetId: remote.peerId, documentId, data }))
            }
            await send.writeAll(batch)
            sentBytes += batch.length
            if (performance.now() - lastReport > 1000) {
              lastReport = performance.now()
              out({ event: 'progress', requests, replies: state.types, ms: Math.round(lastReport - started) })
            }
          }
        } catch {
          // the target dropped us mid-write (E_RATE_LIMITED): report what got through
        }
        sent += requests
        out({ event: 'sent', requests, sentBytes, ms: Math.round(performance.now() - started) })
        // Each request is answered (doc-unavailable, or sync) unless the target falls behind or drops us.
        const answered = () => state.answeredIds.size
        while (!state.ended && performance.now() < deadline && answered() < requests) await sleep(50)
        // closeReason: set if the target dropped us (before we close the connection ourselves below).
        out({ event: 'answered', answered: answered(), ms: Math.round(performance.now() - started), closeReason: conn.closeReason() ?? undefined })
        try {
          conn.close(0n, [])
        } catch {}
        return
      }
      default:
        throw new Error(`unknown mode ${mode}`)
    }
  }
}

/** K admitted identities, each holding one almost complete large frame. */
async function partialFrames(first: Awaited<ReturnType<typeof createEndpoint>>): Promise<void> {
  const k = Number(opts.identities ?? 10)
  const length = Number(opts.frame ?? 16 * 1024 * 1024 - 64)
  const started = performance.now()
  const endpoints = [first, ...(await Promise.all(Array.from({ length: k - 1 }, () => createEndpoint({ bindAddr: opts.bind ?? '127.0.0.1:0' }))))]
  const addr = parseDialTarget(ticket!)
  const alpn = alpnBytes(TONK_SYNC_ALPN)
  const one = async (endpoint: (typeof endpoints)[number]) => {
    const conn = await endpoint.connect(addr, alpn)
    const me = endpoint.id().toString()
    const them = conn.remoteId().toString()
    const bi = await conn.openBi()
    const state = listenWith(bi.recv, sealContext(TONK_SYNC_ALPN, me, them, 'acceptor'))
    await bi.send.writeAll(frame(seal(key, sealContext(TONK_SYNC_ALPN, me, them, 'dialer'), helloFields({ peerId: `hostile-${me.slice(0, 8)}` }))))
    for (let i = 0; i < 100 && !state.remote && !state.ended; i++) await sleep(50)
    if (!state.remote) return { admitted: false, conn, written: 0 }
    const header = [(length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]
    await bi.send.writeAll(header)
    let written = 0
    const chunk = toNumberArray(new Uint8Array(1024 * 1024))
    try {
      while (written < length - 1) {
        const n = Math.min(chunk.length, length - 1 - written)
        await Promise.race([bi.send.writeAll(n === chunk.length ? chunk : chunk.slice(0, n)), conn.closed()])
        if (conn.closeReason() !== null) break
        written += n
      }
    } catch {
      // the target closed the connection
    }
    return { admitted: true, conn, written }
  }
  const runs = await Promise.all(endpoints.map((e) => one(e).catch((err) => ({ admitted: false, conn: undefined, written: 0, error: String(err) }))))
  out({ event: 'partials', admitted: runs.filter((r) => r.admitted).length, complete: runs.filter((r) => r.written >= length - 1).length, ms: Math.round(performance.now() - started) })
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline && runs.some((r) => r.conn && r.conn.closeReason() === null)) await sleep(100)
  const closed = runs.filter((r) => r.conn && r.conn.closeReason() !== null)
  out({
    event: 'result',
    mode,
    sent: runs.length,
    sentBytes: runs.reduce((a, r) => a + r.written, 0),
    ms: Math.round(performance.now() - started),
    admitted: runs.filter((r) => r.admitted).length,
    closedByTarget: closed.length,
    reasons: [...new Set(closed.map((r) => r.conn!.closeReason()))].slice(0, 3),
  })
  for (const r of runs) {
    try {
      r.conn?.close(0n, [])
    } catch {}
  }
  await Promise.all(endpoints.map((e) => closeEndpoint(e)))
}

/** listen() for a connection of its own (its own sealed context). */
function listenWith(recv: RecvStream, context: Uint8Array) {
  const state = { remote: undefined as Record<string, any> | undefined, ended: false }
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 })
  void (async () => {
    try {
      for (;;) {
        const chunk = await recv.read(1024 * 1024)
        if (chunk.length === 0) break
        for (const f of decoder.push(chunk)) {
          const m = cbor.decode(f) as Record<string, any>
          const inner = m?.type === 'sealed' ? (open(key, context, m) as Record<string, any>) : m
          if (inner?.type === 'hello') state.remote = inner
        }
      }
    } catch {}
    state.ended = true
  })()
  return state
}

// Writes to a pipe are asynchronous: exit once stdout has taken the (up to 256 KiB) result line.
const exit = (code: number) => process.stdout.write('', () => process.exit(code))
main().then(
  () => exit(0),
  (err) => {
    out({ event: 'error', message: String(err).split('\n')[0] })
    exit(1)
  },
)
