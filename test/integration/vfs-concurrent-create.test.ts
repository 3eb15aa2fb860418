// Two peers (bundle Repos on real storage, real iroh adapters) create the same paths while apart, then
// connect: each path converges to one visible entry, the same on both and the same one Tonk's reader
// (src/core/tonk/vfs.ts, which reads the index as Tonk's Rust does) names; files created inside "the
// same" new folder on both sides all stay visible; a write repairs the conflict (one index entry, one
// RefNode per name) so the .tonk reader finds the tree consistent. Run in a namespace
// (scripts/isolated.mjs).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Automerge } from '@automerge/automerge-repo/slim'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { createBundleRepo, type BundleRepo } from '../../src/core/store/repo'
import { DocTree, entryConflicts } from '../../src/shared/vfs/doc-tree'
import { readVfs } from '../../src/core/tonk'
import { assertIsolated } from '../helpers/ensure-isolated'
import { eventually, makePeer, type TestPeer } from '../helpers/net-fixtures'
import { until } from '../helpers/until'

const NAMESPACE = 'vfs-concurrent-test'

describe('vfs: concurrent creation of one path by two peers over iroh', function () {
  this.timeout(60_000)
  let dir: string
  const peers: TestPeer[] = []
  const repos: BundleRepo[] = []

  before(assertIsolated)
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tonk-vfs-concurrent-'))
  })
  afterEach(async () => {
    await Promise.all(repos.splice(0).map((r) => r.close()))
    await Promise.all(peers.splice(0).map((p) => p.close()))
    rmSync(dir, { recursive: true, force: true })
  })

  async function open(name: string, peer: TestPeer) {
    const bundle = await createBundleRepo({
      dataDir: join(dir, name),
      network: [peer.adapter],
      rootDocumentId: rootDocumentId(NAMESPACE),
      rootDocumentBytes: await createRootDocumentBytes(NAMESPACE),
    })
    repos.push(bundle)
    return { ...bundle, tree: new DocTree(bundle.repo, bundle.root, { findTimeoutMs: 10_000 }) }
  }

  /** What the .tonk reader makes of a peer's documents (every indexed document loaded first). */
  async function tonkView(peer: Awaited<ReturnType<typeof open>>) {
    for (const e of await peer.tree.walk()) await peer.repo.find(e.url, { signal: AbortSignal.timeout(10_000) })
    const documents = new Map(
      Object.entries(peer.repo.handles)
        .filter(([, h]) => h.isReady())
        .map(([id, h]) => [id, h.doc() as Automerge.Doc<unknown>]),
    )
    return readVfs(peer.root.documentId, documents)
  }

  /** How many different documents the concurrent values of an index entry name (1 once repaired). */
  const distinctIds = (peer: { root: BundleRepo['root'] }, path: string) => new Set(entryConflicts(peer.root.doc(), path).map((e) => e.doc_id)).size

  it('one visible entry per path, the same on both peers and for the .tonk reader; a write repairs the conflict', async () => {
    const [pa, pb] = await Promise.all([makePeer(), makePeer()])
    peers.push(pa, pb)
    pa.adapter.listen()
    pb.adapter.listen()
    const [a, b] = await Promise.all([open('a', pa), open('b', pb)])

    // Apart: both create /notes/x (different content) and /shared with a file of their own.
    const xa = await a.tree.writeDoc('/notes/x', { from: 'a' })
    const xb = await b.tree.writeDoc('/notes/x', { from: 'b' })
    await a.tree.writeDoc('/shared/one', { from: 'a' })
    await b.tree.writeDoc('/shared/two', { from: 'b' })
    assert.notEqual(xa, xb)

    pa.adapter.dial(pb.ticket)
    await eventually(() => a.repo.peers.includes(b.repo.peerId) && b.repo.peers.includes(a.repo.peerId), 15_000, 'peers connected')

    // Converged: both peers show the same document at /notes/x, once, with the winner's content.
    await until('/notes/x converged', async () => {
      const [ua, ub] = [await a.tree.resolve('/notes/x'), await b.tree.resolve('/notes/x')]
      return ua !== undefined && ua === ub && entryConflicts(a.root.doc(), '/notes/x').length === 2
    }, 15_000)
    const winner = (await a.tree.resolve('/notes/x'))!
    assert.ok(winner === xa || winner === xb)
    for (const peer of [a, b]) {
      assert.deepEqual((await peer.tree.ls('/notes')).map((e) => [e.name, e.url]), [['x', winner]])
      assert.deepEqual(await peer.tree.readDoc('/notes/x'), { from: winner === xa ? 'a' : 'b' })
      // The winner is Automerge's, which is what Tonk reads: the .tonk reader names the same document.
      const { vfs } = await tonkView(peer)
      assert.equal(`automerge:${vfs!.get('/notes/x')!.documentId}`, winner)
    }
    // The flat index keeps both peers' files inside /shared, whichever /shared document won.
    await until('/shared lists both files on both peers', async () => {
      const [la, lb] = [(await a.tree.ls('/shared')).map((e) => e.name), (await b.tree.ls('/shared')).map((e) => e.name)]
      return JSON.stringify(la) === '["one","two"]' && JSON.stringify(lb) === '["one","two"]'
    }, 15_000)
    // Before repair, the DirNode children lists disagree with the index: the reader warns.
    const before = await tonkView(a)
    assert.ok(before.issues.some((i) => i.code === 'E_TONK_VFS_INCONSISTENT'), JSON.stringify(before.issues))

    // Repair on write: writing through the converged paths collapses the conflicts and fixes the lists.
    await a.tree.writeDoc('/notes/x', { from: 'a again' })
    await b.tree.writeDoc('/shared/three', { from: 'b' })
    await a.tree.writeDoc('/shared/one', { from: 'a again' })
    const state = async () =>
      JSON.stringify(await Promise.all([a, b].map(async (peer) => ({
        conflicts: [distinctIds(peer, '/notes/x'), distinctIds(peer, '/shared')],
        x: await peer.tree.readDoc('/notes/x'),
        shared: (await peer.tree.ls('/shared')).map((e) => e.name),
        issues: (await tonkView(peer)).issues.map((i) => i.message),
      }))))
    await until('repaired on both peers', async () => {
      for (const peer of [a, b]) {
        if (distinctIds(peer, '/notes/x') !== 1 || distinctIds(peer, '/shared') !== 1) return false
        if ((await peer.tree.readDoc<{ from: string }>('/notes/x'))?.from !== 'a again') return false
        if ((await peer.tree.ls('/shared')).length !== 3) return false
        if ((await tonkView(peer)).issues.length !== 0) return false
      }
      return true
    }, 20_000).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${await state()}`)
    })
    for (const peer of [a, b]) {
      const { vfs, issues } = await tonkView(peer)
      assert.deepEqual(issues, [])
      assert.deepEqual(vfs!.files().map((n) => n.path), ['/notes/x', '/shared/one', '/shared/three', '/shared/two'])
      assert.equal(await peer.tree.resolve('/notes/x'), winner)
    }
  })
})
