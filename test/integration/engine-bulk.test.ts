// Bulk catch-up between real Sessions over iroh on loopback: a fresh peer gets every document of a
// peer's tree in a few frames; a peer already in sync gets none after reconnecting (only changed
// documents); a hostile docs frame loses its bad entries and the documents nobody asked for, and the
// connection stays up.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Automerge, Repo, type DocHandle, type DocumentId } from '@automerge/automerge-repo/slim'
import { loadBundle, packDirectory, type LoadedBundle } from '../../src/core/bundle'
import { BULK_DOCS_TYPE, BULK_WANT_TYPE, type BulkCounters } from '../../src/core/protocols/bulk/bulk'
import { BULK } from '../../src/core/protocols/registry'
import type { IrohNetworkAdapter } from '../../src/core/net/iroh-adapter'
import { Session, type SessionOptions } from '../../src/core/session/session'
import { repoRoot } from '../helpers/cli'
import { startTestSession } from '../helpers/sessions'
import { assertIsolated } from '../helpers/ensure-isolated'
import { linkIntoTree as linkTree } from '../helpers/vfs-tree'

const example = join(repoRoot, 'examples', 'my-world')

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const counters = (s: Session): BulkCounters => s.bulkCounters!
/** The session's adapter: the hostile test sends frames through it as a misbehaving peer would. */
const adapterOf = (s: Session) => (s as unknown as { adapter: IrohNetworkAdapter }).adapter
const connectedTo = async (s: Session, other: Session) =>
  (await s.snapshot()).peers.some((p) => p.endpointId === other.endpointId && p.state === 'connected')

const linkIntoTree = (s: Session, name: string, handles: DocHandle<unknown>[]) => linkTree(s.repo, s.root, name, handles)

describe('engine: bulk catch-up between sessions', function () {
  this.timeout(120000)
  let dir: string
  let bundle: LoadedBundle
  const sessions: Session[] = []
  const start = (name: string, options: Partial<SessionOptions> = {}) => startTestSession(bundle, dir, sessions, name, options)

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-bulk-'))
    bundle = await loadBundle((await packDirectory(example)).zip)
  })
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('a fresh peer gets 300 documents in bulk; reconnected in sync it gets none, then only a changed one', async () => {
    const a = await start('fresh-a')
    const handles: DocHandle<{ n: number; title: string }>[] = []
    for (let i = 0; i < 300; i++) handles.push(a.repo.create({ n: i, title: `document ${i}` }))
    linkIntoTree(a, 'docs', handles)
    await a.repo.flush()

    const b = await start('fresh-b')
    b.dial(a.ticket!)
    await until('every document ready on b', () => handles.every((h) => b.repo.handles[h.documentId]?.isReady()))
    for (const h of handles) assert.deepEqual(b.repo.handles[h.documentId]!.doc(), h.doc())
    const got = counters(b)
    assert.ok(got.framesReceived >= 1 && got.docsApplied >= 300, JSON.stringify(got))
    assert.equal(got.docsRejected, 0)
    // b said it was empty: a pushed at once (a's own want goes the other way and finds nothing to send).
    assert.ok(counters(a).docsSent >= 300 && counters(a).framesSent < 5, JSON.stringify(counters(a)))
    assert.equal((await b.snapshot()).bulk?.docsApplied, got.docsApplied, 'counters are in the snapshot')

    // Let normal sync settle, then reconnect: both sides exchange wants and find nothing to send.
    await until('b in sync with a', async () => {
      const peer = (await a.snapshot()).peers.find((p) => p.endpointId === b.endpointId)
      return !!peer && handles.every((h) => peer.docs[h.documentId] === 'in-sync')
    })
    const reconnect = async () => {
      const before = { a: counters(a), b: counters(b) }
      b.disconnectPeer(a.endpointId!)
      await until('b disconnected', async () => !(await connectedTo(b, a)) && !(await connectedTo(a, b)))
      return before
    }
    const sentSince = (s: Session, before: BulkCounters) => counters(s).docsSent - before.docsSent
    const wantsIn = async (before: { a: BulkCounters; b: BulkCounters }) =>
      until('wants exchanged', () => counters(a).wantsReceived > before.a.wantsReceived && counters(b).wantsReceived > before.b.wantsReceived)

    let before = await reconnect()
    b.dial(a.ticket!)
    await wantsIn(before)
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(sentSince(a, before.a), 0, 'nothing for a peer in sync')
    assert.equal(sentSince(b, before.b), 0)
    assert.equal(counters(b).framesReceived, before.b.framesReceived)

    before = await reconnect()
    handles[7]!.change((d) => {
      d.title = 'changed while b was away'
    })
    b.dial(a.ticket!)
    await wantsIn(before)
    await until('the change on b', () => b.repo.handles[handles[7]!.documentId]!.doc()?.title === 'changed while b was away')
    await until('a served the want', () => sentSince(a, before.a) === 1)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(sentSince(a, before.a), 1, 'a sent only the changed document')
    // b cannot tell a is ahead (a's heads are unknown to it), so it sends its copy of that one document.
    assert.ok(sentSince(b, before.b) <= 1)
  })

  it('bulk off: no frames either way, documents still arrive by sync', async () => {
    const a = await start('off-a')
    const docs = Array.from({ length: 20 }, (_, i) => a.repo.create({ i }))
    const b = await start('off-b', { bulk: false })
    b.dial(a.ticket!)
    await until('connected', async () => (await connectedTo(a, b)) && (await connectedTo(b, a)))
    await Promise.all(docs.map(async (h) => assert.deepEqual((await b.repo.find<{ i: number }>(h.url)).doc(), h.doc())))
    assert.equal(b.bulkCounters, undefined)
    assert.equal((await b.snapshot()).bulk, undefined)
    assert.deepEqual([counters(a).framesSent, counters(a).wantsSent], [0, 0], 'a sent nothing to a peer without bulk')
  })

  it('a hostile docs frame: asked-for entries land, bad and unasked ones are refused, the connection stays up', async () => {
    const a = await start('hostile-a')
    const b = await start('hostile-b')
    b.dial(a.ticket!)
    await until('connected', async () => (await connectedTo(a, b)) && (await connectedTo(b, a)))
    // Documents a does not hold, so only this frame can bring them to b.
    const elsewhere = new Repo({ network: [] })
    const good = elsewhere.create({ good: 1 })
    const good2 = elsewhere.create({ good: 2 })
    const bad = elsewhere.create({ bad: true })
    const orphan = elsewhere.create({ nobody: 'asked' })
    const bytes = (h: DocHandle<unknown>) => Automerge.save(h.doc() as Automerge.Doc<unknown>)
    // b asks for the good ones (a handle waits for them); nobody asks for the orphan.
    for (const h of [good, good2]) b.repo.findWithProgress(h.url)
    const before = counters(b)
    const send = (message: { type: string } & Record<string, unknown>) => assert.ok(adapterOf(a).channel.send(b.endpointId!, BULK, message))
    send({ type: BULK_DOCS_TYPE, docs: 'everything' })
    send({ type: BULK_DOCS_TYPE })
    send({ type: BULK_WANT_TYPE, have: 42 })
    send({
      type: BULK_DOCS_TYPE,
      docs: [
        [good.documentId, bytes(good)],
        [bad.documentId, bytes(bad).slice(0, 30)],
        [bad.documentId.slice(0, 10), bytes(bad)],
        [good2.documentId, 'not bytes'],
        [good2.documentId, new Uint8Array([0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 0, 200, 1])],
        42,
        [good2.documentId, bytes(good2)],
        [orphan.documentId, bytes(orphan)],
      ],
    })
    await until('the good documents on b', () => !!b.repo.handles[good.documentId]?.isReady() && !!b.repo.handles[good2.documentId]?.isReady())
    assert.deepEqual(b.repo.handles[good.documentId]!.doc(), { good: 1 })
    assert.deepEqual(b.repo.handles[good2.documentId]!.doc(), { good: 2 })
    assert.equal(b.repo.handles[bad.documentId as DocumentId], undefined)
    const after = counters(b)
    assert.equal(after.framesReceived - before.framesReceived, 1, 'the malformed frames were ignored')
    assert.equal(after.docsRejected - before.docsRejected, 5)
    // The orphan waits for a later frame bringing a directory that points at it, then is refused.
    await until('the orphan refused', () => counters(b).docsUnreachable - before.docsUnreachable === 1, 15000)
    assert.equal(b.repo.handles[orphan.documentId], undefined)
    assert.equal(counters(b).docsRejected - before.docsRejected, 6)
    // Still connected, and sync still works both ways.
    assert.ok((await connectedTo(a, b)) && (await connectedTo(b, a)))
    const later = a.repo.create({ after: 'hostile frames' })
    assert.deepEqual((await b.repo.find(later.url)).doc(), { after: 'hostile frames' })
  })
})
