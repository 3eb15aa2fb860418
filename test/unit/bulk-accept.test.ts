// The pure parts of what a bulk frame may make us store (src/core/protocols/bulk/accept.ts): reading a
// directory's entries, the order senders list documents in, the per-peer quota, one line of refusals.
import assert from 'node:assert/strict'
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { dirChildIds, DocQuota, Rejections, treeOrder } from '../../src/core/protocols/bulk/accept'

const id = (s: string) => s as DocumentId
const ref = (pointer: unknown) => ({ name: 'n', type: 'document', pointer, timestamps: { created: 0, modified: 0 } })
const indexed = (docId: unknown) => ({ doc_id: docId, node_type: 'document', created: 0, modified: 0 })

describe('bulk: acceptance rule helpers', () => {
  it("a directory's entries: bare ids and automerge URLs (heads dropped), other shapes skipped; not a directory: undefined", () => {
    const dir = {
      type: 'directory',
      name: 'd',
      children: [ref('2abc'), ref('automerge:3def#h1|h2'), ref('http://x'), ref(42), null, 'text'],
    }
    assert.deepEqual(dirChildIds(dir), [id('2abc'), id('3def')])
    assert.deepEqual(dirChildIds({ type: 'directory' }), [])
    // The root's PathIndex reaches every path (it is flat), and its own children list.
    const root = { type: 'path_index', version: 2, entries: { '/a': indexed('4ghi'), '/a/b': indexed('5jkm'), '/x': indexed('bad id') }, children: [ref('4ghi')] }
    assert.deepEqual(dirChildIds(root), [id('4ghi'), id('5jkm'), id('4ghi')])
    assert.equal(dirChildIds({ type: 'document', children: [ref('2abc')] }), undefined)
    // The keepsync-era shape (children map, type "dir") is no longer a directory.
    assert.equal(dirChildIds({ type: 'dir', children: { a: ref('automerge:2abc') } }), undefined)
    assert.equal(dirChildIds(undefined), undefined)
    assert.equal(dirChildIds('dir'), undefined)
  })

  it('tree order: directories first, parents before children, a cycle after, other documents in their order', () => {
    const items = [
      { id: 'x' },
      { id: 'inner', children: ['x', 'leaf'] },
      { id: 'y' },
      { id: 'root', children: ['outer', 'y'] },
      { id: 'outer', children: ['inner'] },
      { id: 'c1', children: ['c2'] },
      { id: 'c2', children: ['c1'] },
    ]
    const order = treeOrder(items, (i) => id(i.id), (i) => i.children?.map(id)).map((i) => i.id)
    assert.deepEqual(order, ['root', 'outer', 'inner', 'c1', 'c2', 'x', 'y'])
  })

  it('quota: at most the limit per window and peer, a new window refills it', () => {
    let now = 0
    const quota = new DocQuota(3, 60_000, () => now)
    const take = (peer: string, n: number) => Array.from({ length: n }, () => quota.take(peer)).filter(Boolean).length
    assert.equal(take('a', 5), 3)
    assert.equal(take('b', 2), 2, 'per peer')
    now = 59_999
    assert.equal(take('a', 1), 0)
    now = 60_000
    assert.equal(take('a', 5), 3)
  })

  it('refusals: counted by code, one summary with an example of each', () => {
    const r = new Rejections()
    assert.equal(r.summary(), undefined)
    for (let i = 0; i < 3; i++) r.add('E_BULK_UNREACHABLE', `doc${i}`)
    r.add('E_BULK_MALFORMED', 'bad', 'bytes are not Automerge data')
    assert.equal(r.count, 4)
    const line = r.summary()!
    assert.match(line, /^E_BULK_UNREACHABLE ×3 \(.*e\.g\. doc0\), E_BULK_MALFORMED ×1 \(.*e\.g\. bad: bytes are not Automerge data\)$/)
  })
})
