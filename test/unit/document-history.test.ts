import assert from 'node:assert/strict'
import { Automerge, encodeHeads } from '@automerge/automerge-repo/slim'
import { applyRestore, diffPaths, historyPage, MAX_HISTORY_PAGE, parseHeads, restoreTarget, valueAt } from '../../src/core/history/document-history'
import { initAutomerge } from '../../src/core/util/automerge'

type Doc = Record<string, any>

async function threeVersions() {
  await initAutomerge()
  let d = Automerge.from<Doc>({ title: 'one', meta: { a: 1, b: 2 } })
  d = Automerge.change(d, { message: 'second', time: 1_700_000_000 }, (x) => {
    x.title = 'two'
    x.tags = ['x', 'y']
    x.meta.b = 3
  })
  d = Automerge.change(d, (x) => {
    delete x.meta.a
    x.done = true
  })
  return d
}

describe('document history', () => {
  it('lists changes in causal order, pages from either end, and caps a page', async () => {
    const d = await threeVersions()
    const all = historyPage(d)
    assert.equal(all.total, 3)
    assert.deepEqual(all.changes.map((c) => c.index), [0, 1, 2])
    assert.equal(all.changes[1]!.message, 'second')
    assert.equal(all.changes[1]!.time, 1_700_000_000_000, 'seconds become ms')
    assert.deepEqual(historyPage(d, -1, 5).changes.map((c) => c.hash), [all.changes[2]!.hash])
    assert.equal(historyPage(d, 10, 5).changes.length, 0)
    assert.equal(historyPage(d, 0, MAX_HISTORY_PAGE * 10).changes.length, 3)
  })

  it('reads heads in hex or base58, and refuses anything else with E_DOC_HEADS', async () => {
    const d = await threeVersions()
    const [head] = Automerge.getHeads(d)
    assert.deepEqual(parseHeads(head!), [head])
    assert.deepEqual(parseHeads(encodeHeads([head!])[0]!), [head])
    for (const bad of ['', 'zz', 'a'.repeat(200), ',', '0'.repeat(63)]) {
      assert.throws(() => parseHeads(bad), (e: Error & { code?: string }) => e.code === 'E_DOC_HEADS')
    }
    assert.throws(() => valueAt(d, ['f'.repeat(64)]), (e: Error & { code?: string }) => e.code === 'E_DOC_HEADS', 'unknown change')
  })

  it('shows the value at old heads and the paths that differ since', async () => {
    const d = await threeVersions()
    const first = [historyPage(d).changes[0]!.hash]
    assert.deepEqual(valueAt(d, first), { title: 'one', meta: { a: 1, b: 2 } })
    assert.deepEqual(diffPaths(d, first, Automerge.getHeads(d)), { added: ['/done', '/tags'], removed: ['/meta/a'], changed: ['/meta/b', '/title'] })
  })

  it('restores an old value as a new change, touching only what differs', async () => {
    let d = await threeVersions()
    const first = [historyPage(d).changes[0]!.hash]
    const old = restoreTarget(d, first)
    let writes = 0
    d = Automerge.change(d, (x) => void (writes = applyRestore(x, old)))
    assert.deepEqual(Automerge.toJS(d), { title: 'one', meta: { a: 1, b: 2 } })
    assert.equal(writes, 5, 'title, tags, done, meta.a, meta.b')
    assert.equal(historyPage(d).total, 4, 'history is kept')
  })
})
