// Bulk catch-up without the network: what to send for given heads, frame validation and packing, the
// cheap chunk check, and BulkSync applying frames to a Repo through a fake channel (new documents,
// requesting handles, a handle still loading from storage, bad bytes, a sync message jumping the queue,
// documents our tree does not reach, the per-peer quota).
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import {
  Automerge,
  cbor,
  Repo,
  type Chunk,
  type DocumentId,
  type Message,
  type PeerId,
  type StorageAdapterInterface,
  type StorageKey,
} from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
await initAutomerge()
import {
  BULK_DOCS_TYPE,
  BULK_EMPTY_FEATURE,
  BULK_FEATURE,
  BULK_WANT_TYPE,
  BulkSync,
  DocFramePacker,
  entryBytes,
  isAutomergeData,
  MAX_WANT_ENTRIES,
  planDoc,
  readDocsFrame,
  readWantFrame,
  wantFrames,
  type DocEntry,
} from '../../src/core/protocols/bulk/bulk'
import type { PeerInfo } from '../../src/core/net/types'
import type { ExtensionChannel, ExtensionFrame, ExtensionProtocol } from '../../src/core/net/extension-channel'
import { noopLogger } from '../../src/shared/log'

/** Document ids as automerge-repo makes them. */
const idRepo = () => new Repo({ network: [] })
const freshId = (repo = idRepo()) => repo.create({}).documentId

/** A RefNode (src/shared/vfs/shapes.ts): a directory's pointer at a child, by bare id as Tonk writes it. */
const refTo = (name: string, h: { documentId: string }, type: 'document' | 'directory' = 'document') => ({
  name,
  type,
  pointer: h.documentId,
  timestamps: { created: 0, modified: 0 },
})

/** A directory document (a DirNode) pointing at `docs`, created in `repo`. */
const dirOf = (repo: Repo, docs: Record<string, { documentId: string }>, name = 'd') =>
  repo.create({
    type: 'directory',
    name,
    timestamps: { created: 0, modified: 0 },
    children: Object.entries(docs).map(([n, h]) => refTo(n, h)),
  })

describe('bulk: what a peer lacks', () => {

  it('equal heads: nothing; not listed or unknown heads: the whole document; older heads: the changes since', () => {
    const v1 = Automerge.from<{ n: number; s?: string }>({ n: 1 })
    const v2 = Automerge.change(Automerge.clone(v1), (d) => {
      d.s = 'x'.repeat(500)
    })
    assert.deepEqual(planDoc(v2, Automerge.getHeads(v2)), { kind: 'none' })

    const full = planDoc(v2, undefined)
    assert.equal(full.kind, 'full')
    assert.deepEqual(Automerge.getHeads(Automerge.load((full as { bytes: Uint8Array }).bytes)), Automerge.getHeads(v2))
    const unknown = planDoc(v1, Automerge.getHeads(v2)) // they are ahead of us: we cannot tell what they lack
    assert.equal(unknown.kind, 'full')
    assert.equal(planDoc(v2, []).kind, 'full')

    const since = planDoc(v2, Automerge.getHeads(v1))
    assert.equal(since.kind, 'since')
    const bytes = (since as { bytes: Uint8Array }).bytes
    assert.deepEqual(Automerge.getHeads(Automerge.loadIncremental(Automerge.init(), bytes)), [], 'the first change is not in it')
    assert.deepEqual(Automerge.getHeads(Automerge.loadIncremental(Automerge.clone(v1), bytes)), Automerge.getHeads(v2))
  })
})

describe('bulk: frames', () => {
  const ids = Array.from({ length: 5 }, () => freshId())
  const head = 'a'.repeat(64)

  it('a want frame: good entries kept, bad ones dropped, wrong shapes refused', () => {
    const read = readWantFrame({
      type: BULK_WANT_TYPE,
      have: [[ids[0], [head]], [ids[1], []], ['nope', [head]], [ids[2], ['xyz']], [ids[3], head], [ids[4]], 7, null],
      more: true,
    })
    assert.ok(!('error' in read))
    assert.deepEqual(read.entries, [
      [ids[0], [head]],
      [ids[1], []],
    ])
    assert.equal(read.dropped, 6)
    assert.equal(read.more, true)
    assert.equal((readWantFrame({ type: BULK_WANT_TYPE, have: [] }) as { more: boolean }).more, false)
    assert.ok('error' in readWantFrame({ type: BULK_WANT_TYPE, have: 'all' }))
    assert.ok('error' in readWantFrame({ type: BULK_WANT_TYPE }))
    assert.ok('error' in readWantFrame({ type: BULK_WANT_TYPE, have: new Array(MAX_WANT_ENTRIES + 1).fill([ids[0], []]) }))
    assert.ok('error' in readWantFrame({ type: BULK_DOCS_TYPE, have: [] }))
  })

  it('a docs frame: good entries kept, bad ones dropped, wrong shapes refused', () => {
    const bytes = Automerge.save(Automerge.from({ a: 1 }))
    const read = readDocsFrame({
      type: BULK_DOCS_TYPE,
      docs: [[ids[0], bytes], [ids[1], 'bytes'], ['not-an-id', bytes], [ids[2], new Uint8Array()], [ids[3]], [ids[4], bytes, 1], 'x'],
    })
    assert.ok(!('error' in read))
    assert.deepEqual(read.docs, [[ids[0], bytes]])
    assert.equal(read.dropped, 6)
    assert.ok('error' in readDocsFrame({ type: BULK_DOCS_TYPE, docs: { [ids[0]!]: bytes } }))
    assert.ok('error' in readDocsFrame({ type: BULK_DOCS_TYPE }))
  })

  it('the chunk check takes saved documents and changes, refuses truncated, flipped or random bytes', () => {
    const doc = Automerge.from({ text: 'hello', n: 1 })
    const heads = Automerge.getHeads(doc)
    const later = Automerge.change(doc, (d) => {
      d.n = 2
    })
    const saved = Automerge.save(later)
    assert.ok(isAutomergeData(saved))
    assert.ok(isAutomergeData(Automerge.saveSince(later, heads)))
    assert.ok(isAutomergeData(new Uint8Array([...saved, ...Automerge.saveSince(later, heads)])), 'several chunks')
    assert.ok(!isAutomergeData(saved.slice(0, saved.length - 1)), 'truncated')
    assert.ok(!isAutomergeData(new Uint8Array([...saved, 1])), 'trailing byte')
    const flipped = saved.slice()
    flipped[flipped.length - 3]! ^= 0x10
    assert.ok(!isAutomergeData(flipped), 'checksum')
    assert.ok(!isAutomergeData(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])))
    assert.ok(!isAutomergeData(new Uint8Array()))
  })

  it('docs frames stay under the target (a large document goes alone), keep order, and the estimate bounds the CBOR size', () => {
    const packer = new DocFramePacker(10_000, 50_000)
    const entries: DocEntry[] = []
    for (let i = 0; i < 40; i++) entries.push([freshId(), new Uint8Array(i === 7 ? 30_000 : 600 + i).fill(i)])
    const frames: DocEntry[][] = []
    for (const [id, data] of entries) {
      const done = packer.add(id, data)
      assert.notEqual(done, 'too-large')
      frames.push(...(done as DocEntry[][]))
    }
    frames.push(packer.take()!)
    assert.equal(packer.take(), undefined)
    assert.deepEqual(frames.flat(), entries, 'every entry once, in order')
    for (const frame of frames) {
      const encoded = cbor.encode({ type: BULK_DOCS_TYPE, docs: frame }).length
      const estimate = 64 + frame.reduce((n, [id, data]) => n + entryBytes(id, data), 0)
      assert.ok(encoded <= estimate, `encoded ${encoded} > estimate ${estimate}`)
      if (frame.length > 1) assert.ok(estimate <= 10_000, `frame of ${estimate} bytes`)
    }
    assert.ok(frames.some((f) => f.length === 1 && f[0]![1].length === 30_000), 'the large document went alone')
    const decoded = cbor.decode(cbor.encode({ type: BULK_DOCS_TYPE, docs: frames[0] })) as Record<string, unknown>
    assert.ok(!('error' in readDocsFrame(decoded)), 'a packed frame reads back')
    assert.equal(new DocFramePacker(10_000, 50_000).add(freshId(), new Uint8Array(60_000)), 'too-large')
  })

  it('want frames: at most the entry limit each, nothing lost, one (empty) frame for nothing', () => {
    const entries = Array.from({ length: 12 }, () => [freshId(), [head]] as [DocumentId, string[]])
    const frames = wantFrames(entries, 5)
    assert.deepEqual(
      frames.map((f) => f.length),
      [5, 5, 2],
    )
    assert.deepEqual(frames.flat(), entries)
    assert.deepEqual(wantFrames([]), [[]])
  })
})

/** A channel with one connected peer; records what is sent. */
class FakeChannel extends EventEmitter implements ExtensionChannel {
  readonly maxFrameBytes = 16 * 1024 * 1024
  readonly sent: { type: string; [k: string]: unknown }[] = []
  constructor(readonly peer: PeerInfo) {
    super()
  }
  send(endpointId: string, protocol: ExtensionProtocol, frame: ExtensionFrame): boolean {
    if (endpointId !== this.peer.endpointId || !this.peer.features?.includes(protocol.feature)) return false
    this.sent.push(frame)
    return true
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private sub(event: string, listener: (...args: any[]) => void) {
    this.on(event, listener)
    return () => void this.off(event, listener)
  }
  onFrame(protocol: ExtensionProtocol, listener: (from: string, frame: Record<string, unknown>) => void) {
    return this.sub('frame', (from: string, frame: Record<string, unknown>) => {
      if (Object.values(protocol.frames).includes(frame.type as string)) listener(from, frame)
    })
  }
  onPeerJoined(listener: (peer: PeerInfo) => void) {
    return this.sub('joined', listener)
  }
  onPeerLeft(listener: (endpointId: string) => void) {
    return this.sub('left', listener)
  }
  onPeerAnnounced(listener: (peerId: PeerId) => void) {
    return this.sub('announced', listener)
  }
  onRepoMessage(listener: (message: Message) => void) {
    return this.sub('repo-message', listener)
  }
  peers(): PeerInfo[] {
    return [this.peer]
  }
  queuedBytes(): number {
    return 0
  }
  /** Holds asked for (nothing is read here: frames are handed in by the test). */
  readonly holds: Promise<unknown>[] = []
  holdReading(_endpointId: string, until: Promise<unknown>): void {
    this.holds.push(until)
  }
  holdRepoMessages(): void {}
  /** The adapter's order: peer-candidate (bulk first, then the Repo), then peer-connected. */
  connect(): void {
    this.emit('announced', this.peer.peerId!)
  }
  /** The peer's last connection ended. */
  leave(): void {
    this.emit('left', this.peer.endpointId)
  }
  receive(message: Record<string, unknown>): void {
    // As the adapter does: CBOR on the wire.
    this.emit('frame', this.peer.endpointId, cbor.decode(cbor.encode(message)) as Record<string, unknown>)
  }
}

const peerInfo = (features: string[]): PeerInfo => ({
  endpointId: 'e'.repeat(64),
  peerId: 'remote' as PeerId,
  state: 'connected',
  bytesIn: 0,
  bytesOut: 0,
  dialed: false,
  connections: 1,
  features,
})

/** Storage whose loads of `slowIds` wait until `release()`. */
class SlowStorage implements StorageAdapterInterface {
  private readonly data = new Map<string, Uint8Array>()
  private gate!: () => void
  private readonly opened = new Promise<void>((r) => (this.gate = r))
  constructor(readonly slowIds: Set<string>) {}
  release() {
    this.gate()
  }
  async load(key: StorageKey) {
    return this.data.get(key.join('/'))
  }
  async save(key: StorageKey, value: Uint8Array) {
    this.data.set(key.join('/'), value)
  }
  async remove(key: StorageKey) {
    this.data.delete(key.join('/'))
  }
  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    if (this.slowIds.has(prefix[0]!)) await this.opened
    const p = prefix.join('/')
    return [...this.data].filter(([k]) => k.startsWith(p)).map(([k, v]) => ({ key: k.split('/'), data: v }))
  }
  async removeRange(prefix: StorageKey) {
    for (const k of [...this.data.keys()]) if (k.startsWith(prefix.join('/'))) this.data.delete(k)
  }
}

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms))
/** The ids of the docs frames sent so far. */
const sentDocIds = (transport: FakeChannel) =>
  transport.sent.filter((m) => m.type === BULK_DOCS_TYPE).flatMap((m) => (m.docs as DocEntry[]).map(([id]) => id))
/** Waits (bounded) until `n` documents went out: serving yields after every frame, a loaded machine is slow. */
async function untilSent(transport: FakeChannel, n: number): Promise<void> {
  for (let i = 0; i < 250 && sentDocIds(transport).length < n; i++) await settle(20)
  await settle() // and nothing more comes
}

describe('bulk: BulkSync against a Repo', () => {

  it('sends its want on connect, imports new documents, merges into requesting handles, skips bad bytes', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const bulk = new BulkSync(transport)
    bulk.start()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    const mine = repo.create({ mine: true })
    const source = idRepo()
    const a = source.create({ title: 'a' })
    const b = source.create({ title: 'b' })
    const c = source.create({ title: 'c' })
    // a is new to us, and reachable: a directory of ours points at it.
    const dir = dirOf(repo, { a })
    bulk.attach(repo)
    transport.connect()
    assert.equal(transport.sent.length, 1)
    assert.equal(transport.sent[0]!.type, BULK_WANT_TYPE)
    assert.deepEqual(transport.sent[0]!.have, [
      [mine.documentId, Automerge.getHeads(mine.doc())],
      [dir.documentId, Automerge.getHeads(dir.doc())],
    ])
    // b is being asked for (as after a find() of a document nobody has sent yet).
    void repo.find(b.url).catch(() => {})
    await settle()
    const save = (h: typeof a) => Automerge.save(h.doc())
    transport.receive({
      type: BULK_DOCS_TYPE,
      docs: [[a.documentId, save(a)], [b.documentId, save(b)], [c.documentId, save(c).slice(0, 20)], ['junk', save(a)]],
    })
    await bulk.whenApplied()
    assert.deepEqual(repo.handles[a.documentId]?.doc(), { title: 'a' })
    assert.ok(repo.handles[b.documentId]?.isReady())
    assert.deepEqual(repo.handles[b.documentId]?.doc(), { title: 'b' })
    assert.equal(repo.handles[c.documentId], undefined, 'bad bytes make no handle')
    assert.deepEqual(
      { received: bulk.counters.docsReceived, applied: bulk.counters.docsApplied, rejected: bulk.counters.docsRejected },
      { received: 4, applied: 2, rejected: 2 },
    )
    // A frame of the wrong shape is ignored, not counted as a docs frame.
    transport.receive({ type: BULK_DOCS_TYPE, docs: 'everything' })
    assert.equal(bulk.counters.framesReceived, 1)
    bulk.stop()
  })

  it('applies a frame in slices, the peer held unread until it is done; a budget of 0 applies it whole', async () => {
    const source = idRepo()
    const docs = Array.from({ length: 300 }, (_, i) => source.create({ n: i, text: 'x'.repeat(200) }))
    const save = (h: (typeof docs)[number]) => Automerge.save(h.doc())
    for (const applySliceMs of [1, 0]) {
      const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
      const bulk = new BulkSync(transport, { applySliceMs })
      bulk.start()
      const repo = new Repo({ network: [], peerId: 'local' as PeerId })
      dirOf(repo, Object.fromEntries(docs.map((h, i) => [String(i), h])))
      bulk.attach(repo)
      transport.connect()
      let turns = 0
      let turning = true
      const turn = () => turning && (turns++, setImmediate(turn))
      setImmediate(turn)
      transport.receive({ type: BULK_DOCS_TYPE, docs: docs.map((h) => [h.documentId, save(h)]) })
      await bulk.whenApplied()
      turning = false
      assert.equal(bulk.counters.docsApplied, 300)
      assert.ok(docs.every((h) => repo.handles[h.documentId]?.isReady()))
      if (applySliceMs > 0) {
        assert.ok(turns >= 5, `the event loop turned ${turns} times while 300 documents were applied`)
        assert.equal(transport.holds.length, 1, 'the peer is held unread while its frame is applied')
      } else {
        assert.ok(turns <= 2, `whole: ${turns} turns`)
        assert.equal(transport.holds.length, 0)
      }
      bulk.stop()
    }
  })

  it('answers a want with the changes since the peer heads, nothing for equal heads, whole documents it lacks', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const bulk = new BulkSync(transport)
    bulk.start()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    const same = repo.create({ v: 1 })
    const changed = repo.create({ v: 1 })
    const theirChangedHeads = Automerge.getHeads(changed.doc())
    changed.change((d: { v: number }) => {
      d.v = 2
    })
    const missing = repo.create({ v: 3 })
    bulk.attach(repo)
    transport.connect()
    transport.receive({
      type: BULK_WANT_TYPE,
      have: [
        [same.documentId, Automerge.getHeads(same.doc())],
        [changed.documentId, theirChangedHeads],
      ],
    })
    await settle()
    const docsFrames = transport.sent.filter((m) => m.type === BULK_DOCS_TYPE)
    assert.equal(docsFrames.length, 1)
    const docs = docsFrames[0]!.docs as DocEntry[]
    assert.deepEqual(docs.map(([id]) => id).sort(), [changed.documentId, missing.documentId].sort())
    const since = docs.find(([id]) => id === changed.documentId)![1]
    assert.deepEqual(Automerge.getHeads(Automerge.loadIncremental(Automerge.init(), since)), [], 'changes only')
    // A second want on the same connection is not served again.
    transport.receive({ type: BULK_WANT_TYPE, have: [] })
    await settle()
    assert.equal(transport.sent.filter((m) => m.type === BULK_DOCS_TYPE).length, 1)
    bulk.stop()
  })

  it('pushes everything at once to a peer that says it is empty, in frames of the target size; respects the share policy', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE, BULK_EMPTY_FEATURE]))
    const bulk = new BulkSync(transport, { frameBytes: 2000 })
    bulk.start()
    const hiddenIds = new Set<DocumentId>()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId, sharePolicy: async (_peer, id) => !hiddenIds.has(id!) })
    const shared = Array.from({ length: 30 }, (_, i) => repo.create({ shared: true, i }).documentId)
    hiddenIds.add(repo.create({ shared: false }).documentId)
    bulk.attach(repo)
    transport.connect()
    await untilSent(transport, shared.length)
    const frames = transport.sent.filter((m) => m.type === BULK_DOCS_TYPE)
    assert.ok(frames.length > 1, `${frames.length} frame(s)`)
    for (const f of frames) assert.ok(cbor.encode(f).length <= 2000, 'each frame under the target')
    assert.deepEqual(
      frames.flatMap((m) => (m.docs as DocEntry[]).map(([id]) => id)),
      shared,
    )
    assert.equal(bulk.counters.framesSent, frames.length)
    bulk.stop()
  })

  it('a document still loading from storage is merged after the load; a sync message applies a waiting document first', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    let firstDocs = 0
    const bulk = new BulkSync(transport, { onFirstDocs: () => firstDocs++ })
    bulk.start()
    const source = idRepo()
    const stored = source.create({ from: 'storage' })
    const remote = Automerge.change(Automerge.clone(stored.doc()), (d: { from: string; remote?: boolean }) => {
      d.remote = true
    })
    const storage = new SlowStorage(new Set([stored.documentId]))
    // Put the stored version into the slow storage the way the Repo does.
    const writer = new Repo({ network: [], storage })
    writer.import(Automerge.save(stored.doc()), { docId: stored.documentId })
    await writer.flush()
    await writer.shutdown()

    const repo = new Repo({ network: [], storage, peerId: 'local' as PeerId })
    bulk.attach(repo, storage)
    const loading = repo.findWithProgress(stored.documentId)
    assert.equal(loading.handle.state, 'loading')
    transport.receive({ type: BULK_DOCS_TYPE, docs: [[stored.documentId, Automerge.save(remote)]] })
    await settle()
    assert.equal(loading.handle.state, 'loading', 'not touched while loading')
    storage.release()
    await loading.handle.whenReady()
    await settle()
    assert.deepEqual(loading.handle.doc(), { from: 'storage', remote: true })
    assert.equal(firstDocs, 1)

    // Until its frame is applied, a sync message for a document applies it first: at once when its
    // handle is waiting for it, after a load from storage when there is no handle yet.
    const many = Array.from({ length: 50 }, (_, i) => source.create({ i }))
    dirOf(repo, Object.fromEntries(many.map((h, i) => [`m${i}`, h]))) // so they are ours to take
    const [asked, unknown] = [many[10]!, many[20]!]
    const askedHandle = repo.findWithProgress(asked.documentId).handle
    await askedHandle.whenReady(['requesting', 'unavailable'])
    transport.receive({ type: BULK_DOCS_TYPE, docs: many.map((h) => [h.documentId, Automerge.save(h.doc())]) })
    const syncMessage = (documentId: DocumentId) =>
      transport.emit('repo-message', { type: 'sync', documentId, senderId: 'remote', targetId: 'local', data: new Uint8Array() } as Message)
    syncMessage(asked.documentId)
    assert.ok(askedHandle.isReady(), 'merged before the Repo sees the message')
    assert.equal(repo.handles[many[30]!.documentId], undefined, 'the frame itself is not applied yet')
    syncMessage(unknown.documentId)
    assert.ok(repo.handles[unknown.documentId], 'a handle is loading it')
    await bulk.whenApplied()
    await settle()
    for (const h of many) assert.deepEqual(repo.handles[h.documentId]?.doc(), h.doc())
    assert.equal(firstDocs, 1, 'called once')
    bulk.stop()
  })
})

describe('bulk: what a docs frame may make us store', () => {
  const ts = { created: 0, modified: 0 }
  const entry = (h: { documentId: DocumentId; doc(): unknown }): [DocumentId, Uint8Array] => [h.documentId, Automerge.save(h.doc() as Automerge.Doc<unknown>)]
  const warnings = () => {
    const lines: string[] = []
    return { lines, logger: { ...noopLogger, warn: (m: string) => lines.push(m) } }
  }
  const storedIds = async (storage: SlowStorage) => new Set((await storage.loadRange([])).map((c) => c.key[0]))

  it('refuses documents nobody asked for and no directory of ours reaches: nothing stored, one log line', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const { lines, logger } = warnings()
    const bulk = new BulkSync(transport, { logger })
    bulk.start()
    const storage = new SlowStorage(new Set())
    const repo = new Repo({ network: [], storage, peerId: 'local' as PeerId })
    bulk.attach(repo, storage)
    transport.connect()
    // 300 documents and a directory of theirs pointing at all of them, the directory last.
    const source = idRepo()
    const orphans = Array.from({ length: 300 }, (_, i) => source.create({ orphan: i }))
    const theirDir = dirOf(source, Object.fromEntries(orphans.map((h, i) => [`o${i}`, h])))
    transport.receive({ type: BULK_DOCS_TYPE, docs: orphans.slice(0, 150).map(entry) })
    transport.receive({ type: BULK_DOCS_TYPE, docs: [...orphans.slice(150).map(entry), entry(theirDir)] })
    await bulk.whenApplied()
    assert.equal(bulk.counters.docsApplied, 0)
    for (const h of [...orphans, theirDir]) assert.equal(repo.handles[h.documentId], undefined)
    assert.deepEqual(lines, [], 'waiting for a later frame, not refused yet')
    transport.leave()
    assert.equal(bulk.counters.docsUnreachable, 301)
    assert.equal(bulk.counters.docsRejected, 301)
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0]!, /refused 301 document\(s\).*E_BULK_UNREACHABLE ×301/)
    await repo.flush()
    const stored = await storedIds(storage)
    assert.equal([...orphans, theirDir].filter((h) => stored.has(h.documentId)).length, 0)
    bulk.stop()
  })

  it('takes what our tree reaches: children before parents, across frames, through a directory it updates', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const { lines, logger } = warnings()
    const bulk = new BulkSync(transport, { logger })
    bulk.start()
    const source = idRepo()
    const root = source.create({ type: 'directory', name: '', timestamps: ts, children: [] as unknown[] })
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    repo.import(Automerge.save(root.doc()), { docId: root.documentId }) // our copy: an empty root
    bulk.attach(repo)
    transport.connect()
    // Theirs: /d/x and /d/e/y, /d linked into the root.
    const [x, y] = [source.create({ x: 1 }), source.create({ y: 1 })]
    const e = dirOf(source, { y }, 'e')
    const d = source.create({ type: 'directory', name: 'd', timestamps: ts, children: [refTo('x', x), refTo('e', e, 'directory')] })
    root.change((r: { children: unknown[] }) => {
      r.children.push(refTo('d', d, 'directory'))
    })
    transport.receive({ type: BULK_DOCS_TYPE, docs: [entry(y), entry(e), entry(x)] })
    await bulk.whenApplied()
    assert.equal(repo.handles[y.documentId], undefined, 'nothing reaches them yet')
    transport.receive({ type: BULK_DOCS_TYPE, docs: [entry(d), entry(root)] })
    await bulk.whenApplied()
    for (const h of [root, d, e, x, y]) assert.deepEqual(repo.handles[h.documentId]?.doc(), h.doc())
    assert.equal(bulk.counters.docsApplied, 5)
    assert.equal(bulk.counters.docsRejected, 0)
    transport.leave()
    assert.deepEqual(lines, [])
    bulk.stop()
  })

  it('a frame that comes before the Repo is applied when the Repo is attached', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const bulk = new BulkSync(transport)
    bulk.start()
    transport.connect()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    const source = idRepo()
    const early = source.create({ early: true })
    const orphan = source.create({ orphan: true })
    dirOf(repo, { early })
    transport.receive({ type: BULK_DOCS_TYPE, docs: [entry(early), entry(orphan)] })
    assert.equal(repo.handles[early.documentId], undefined)
    bulk.attach(repo)
    await bulk.whenApplied()
    assert.deepEqual(repo.handles[early.documentId]?.doc(), { early: true })
    transport.leave()
    assert.equal(repo.handles[orphan.documentId], undefined)
    assert.deepEqual([bulk.counters.docsApplied, bulk.counters.docsUnreachable], [1, 1])
    bulk.stop()
  })

  it('a parked document we ask for afterwards is taken at the next sync message for it', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const bulk = new BulkSync(transport)
    bulk.start()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    bulk.attach(repo)
    transport.connect()
    const later = idRepo().create({ asked: 'later' })
    transport.receive({ type: BULK_DOCS_TYPE, docs: [entry(later)] })
    await bulk.whenApplied()
    assert.equal(repo.handles[later.documentId], undefined, 'parked')
    const { handle } = repo.findWithProgress(later.documentId)
    await handle.whenReady(['requesting', 'unavailable'])
    transport.emit('repo-message', { type: 'sync', documentId: later.documentId, senderId: 'remote', targetId: 'local', data: new Uint8Array() } as Message)
    assert.ok(handle.isReady(), 'merged before the Repo sees the message')
    assert.deepEqual(handle.doc(), { asked: 'later' })
    transport.leave()
    assert.equal(bulk.counters.docsRejected, 0)
    bulk.stop()
  })

  it('a directory of ours still in storage: its new entry is taken once it has loaded', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const bulk = new BulkSync(transport)
    bulk.start()
    const source = idRepo()
    const old = source.create({ old: true })
    const dir = dirOf(source, { old })
    const storage = new SlowStorage(new Set())
    const writer = new Repo({ network: [], storage })
    writer.import(Automerge.save(dir.doc()), { docId: dir.documentId })
    await writer.flush()
    await writer.shutdown()
    // As after a restart: the directory is in storage, not in memory; the peer added /new to it.
    const repo = new Repo({ network: [], storage, peerId: 'local' as PeerId })
    bulk.attach(repo, storage)
    transport.connect()
    const added = source.create({ added: true })
    dir.change((d: { children: unknown[] }) => {
      d.children.push(refTo('new', added))
    })
    transport.receive({ type: BULK_DOCS_TYPE, docs: [entry(added), entry(dir)] })
    await bulk.whenApplied()
    assert.deepEqual(repo.handles[added.documentId]?.doc(), { added: true })
    assert.deepEqual(repo.handles[dir.documentId]?.doc(), dir.doc())
    assert.equal(bulk.counters.docsRejected, 0)
    bulk.stop()
  })

  it('at most maxDocsPerMinute documents per peer, reconnecting does not refill it', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE]))
    const { lines, logger } = warnings()
    const bulk = new BulkSync(transport, { logger, maxDocsPerMinute: 5 })
    bulk.start()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    const source = idRepo()
    const docs = Array.from({ length: 8 }, (_, i) => source.create({ i }))
    dirOf(repo, Object.fromEntries(docs.map((h, i) => [`n${i}`, h])))
    bulk.attach(repo)
    transport.connect()
    transport.receive({ type: BULK_DOCS_TYPE, docs: docs.slice(0, 6).map(entry) })
    await bulk.whenApplied()
    transport.leave()
    transport.connect()
    transport.receive({ type: BULK_DOCS_TYPE, docs: docs.slice(6).map(entry) })
    await bulk.whenApplied()
    assert.equal(bulk.counters.docsApplied, 5)
    assert.equal(bulk.counters.docsOverQuota, 3)
    assert.equal(docs.filter((h) => repo.handles[h.documentId]).length, 5)
    assert.equal(lines.length, 2, 'one line per frame')
    assert.match(lines[0]!, /E_BULK_QUOTA ×1/)
    assert.match(lines[1]!, /E_BULK_QUOTA ×2/)
    bulk.stop()
  })

  it('an empty peer gets directories first, each after its parent', async () => {
    const transport = new FakeChannel(peerInfo([BULK_FEATURE, BULK_EMPTY_FEATURE]))
    const bulk = new BulkSync(transport)
    bulk.start()
    const repo = new Repo({ network: [], peerId: 'local' as PeerId })
    // Made children first, as DocTree does (a document exists before the entry pointing at it).
    const doc = repo.create({ leaf: true })
    const inner = dirOf(repo, { doc }, 'inner')
    const outer = repo.create({ type: 'directory', name: 'outer', timestamps: ts, children: [refTo('inner', inner, 'directory')] })
    bulk.attach(repo)
    transport.connect()
    await untilSent(transport, 3)
    assert.deepEqual(sentDocIds(transport), [outer.documentId, inner.documentId, doc.documentId])
    bulk.stop()
  })
})
