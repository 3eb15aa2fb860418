// The request gate (src/core/protocols/sync/request-gate.ts) between real iroh adapters and bundle Repos on real
// storage: requests for documents we hold in neither memory nor storage are answered without a
// handle, while the two cases where a legitimate peer asks for such a document keep working: a
// document a third peer has (automerge-repo asks its other peers: multi-hop) and a document that is
// in storage but not loaded.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Automerge,
  cbor,
  generateAutomergeUrl,
  parseAutomergeUrl,
  type DocumentId,
  type NetworkAdapterInterface,
  type PeerId,
  type SharePolicy,
} from '@automerge/automerge-repo/slim'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { createBundleRepo, type BundleRepo } from '../../src/core/store/repo'
import type { RequestGateOptions } from '../../src/core/protocols/sync/request-gate'
import { assertIsolated } from '../helpers/ensure-isolated'
import { eventually, makePeer, rawClient, type TestPeer } from '../helpers/net-fixtures'

const NAMESPACE = 'request-gate-test'
type Doc = { text: string }
const randomId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId

describe('request gate: unknown documents answered without a handle, multi-hop and stored documents still found', function () {
  this.timeout(60_000)
  let dir: string
  const peers: TestPeer[] = []
  const repos: BundleRepo[] = []

  before(assertIsolated)
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tonk-request-gate-'))
  })
  afterEach(async () => {
    await Promise.all(repos.splice(0).map((r) => r.close()))
    await Promise.all(peers.splice(0).map((p) => p.close()))
    rmSync(dir, { recursive: true, force: true })
  })

  async function open(name: string, network: NetworkAdapterInterface[], options: { sharePolicy?: SharePolicy; requestGate?: RequestGateOptions } = {}) {
    const repo = await createBundleRepo({
      dataDir: join(dir, name),
      network,
      rootDocumentId: rootDocumentId(NAMESPACE),
      rootDocumentBytes: await createRootDocumentBytes(NAMESPACE),
      ...options,
    })
    repos.push(repo)
    return repo
  }

  /** Peers named in `links` ([dialer, acceptor]) connected, each with a bundle Repo. */
  async function line(names: string[], links: Array<[number, number]>, options: Record<string, Parameters<typeof open>[2]> = {}) {
    const ps = await Promise.all(names.map(() => makePeer()))
    peers.push(...ps)
    for (const p of ps) p.adapter.listen()
    for (const [a, b] of links) ps[a]!.adapter.dial(ps[b]!.ticket)
    const rs = await Promise.all(names.map((n, i) => open(n, [ps[i]!.adapter], options[n])))
    for (const [a, b] of links) {
      await eventually(() => rs[a]!.repo.peers.length > 0 && rs[a]!.repo.peers.includes(rs[b]!.repo.peerId), 10_000, `${names[a]} connected to ${names[b]}`)
      await eventually(() => rs[b]!.repo.peers.includes(rs[a]!.repo.peerId), 10_000, `${names[b]} connected to ${names[a]}`)
    }
    return rs
  }

  const find = (r: BundleRepo, id: DocumentId, ms = 15_000) =>
    r.repo.find<Doc>(id, { signal: AbortSignal.timeout(ms) }).then(
      (h) => h.doc().text,
      (err: Error) => `failed: ${err.message}`,
    )

  it('a document nobody has: answered doc-unavailable at once, no handle made on the asked peer', async () => {
    const [a, b] = await line(['a', 'b'], [[0, 1]])
    const id = randomId()
    const started = performance.now()
    assert.match(await find(a!, id), /unavailable/)
    assert.ok(performance.now() - started < 5000, 'answered at once, not after a timeout')
    assert.equal(b!.repo.handles[id], undefined, 'the asked peer holds no handle for it')
    assert.equal(b!.requests.stats.answered, 1)
  })

  it('multi-hop: a document only a third peer has (and has not announced) reaches the asker through the middle peer', async () => {
    // c announces nothing on its own (announce false): b learns of the document only by asking c.
    const [a, b, c] = await line(['a', 'b', 'c'], [[0, 1], [1, 2]], { c: { sharePolicy: async () => false } })
    const made = c!.repo.create<Doc>({ text: 'from c' })
    await c!.repo.flush([made.documentId])
    assert.equal(b!.repo.handles[made.documentId], undefined, 'b does not have it yet')
    assert.equal(await find(a!, made.documentId), 'from c')
    assert.equal(b!.requests.stats.forwarded, 1, 'b passed the request on to the Repo, which asked c')
  })

  it('a document in storage but not loaded is found through the storage index', async () => {
    // b writes a document and closes; reopened, it has a handle only for the root.
    const first = await open('b', [])
    const made = first.repo.create<Doc>({ text: 'stored' })
    await first.repo.flush([made.documentId])
    await first.close()
    repos.splice(repos.indexOf(first), 1)
    const [a, b] = await line(['a', 'b'], [[0, 1]])
    assert.equal(b!.repo.handles[made.documentId], undefined, 'not loaded')
    assert.equal(await find(a!, made.documentId), 'stored')
    assert.equal(b!.requests.stats.answered, 0)
    assert.equal(b!.requests.stats.forwarded, 0)
  })

  it('requests passed on to other peers are capped per peer, and their handles deleted once unavailable', async () => {
    const gate = { forwardBurst: 3, forwardPerSecond: 0.001, evictAfterMs: 200, sweepMs: 100 }
    const [a, b] = await line(['a', 'b', 'c'], [[0, 1], [1, 2]], { b: { requestGate: gate } })
    const ids = Array.from({ length: 10 }, randomId)
    const results = await Promise.all(ids.map((id) => find(a!, id)))
    for (const r of results) assert.match(r, /unavailable/)
    assert.equal(b!.requests.stats.forwarded, 3)
    assert.equal(b!.requests.stats.answered, 7)
    await eventually(() => b!.requests.stats.evicted === 3, 10_000, 'the three handles of passed-on requests evicted')
    for (const id of ids) assert.equal(b!.repo.handles[id], undefined, `b still holds a handle for ${id}`)
  })

  it('ephemeral and doc-unavailable messages for documents without a handle are dropped; a sync without heads is answered like a request', async () => {
    const p = await makePeer()
    peers.push(p)
    p.adapter.listen()
    const b = await open('b', [p.adapter])
    const raw = await rawClient(p.ticket)
    try {
      await raw.sendHello('raw-peer')
      await eventually(() => b.repo.peers.includes('raw-peer' as PeerId), 10_000, 'the raw peer connected')
      const [, noHeads] = Automerge.generateSyncMessage(Automerge.init(), Automerge.initSyncState())
      const send = (m: Record<string, unknown>) =>
        raw.writeFrame(cbor.encode({ senderId: 'raw-peer', targetId: b.repo.peerId, documentId: randomId(), ...m }))
      await send({ type: 'ephemeral', sessionId: 's', count: 1, data: cbor.encode({ hi: 1 }) })
      await send({ type: 'doc-unavailable' })
      await send({ type: 'request', documentId: 'not-a-document-id', data: noHeads })
      await send({ type: 'sync', data: noHeads })
      await eventually(() => b.requests.stats.dropped === 3 && b.requests.stats.answered === 1, 10_000, 'three dropped, one answered')
      assert.deepEqual(Object.keys(b.repo.handles), [b.root.documentId], 'no handle but the root')
    } finally {
      await raw.close()
    }
  })
})
