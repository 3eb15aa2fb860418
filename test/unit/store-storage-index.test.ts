// CrashSafeStorageAdapter's index of stored names (misses answered without the disk), its shared
// directory fsyncs (group commit) and its memory of directories it made.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { CrashSafeStorageAdapter } from '../../src/core/store/storage'

const text = (s: string) => new TextEncoder().encode(s)

describe('docs storage: index of stored names', () => {
  let dir: string
  let base: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-storage-index-'))
    base = join(dir, 'store')
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('answers misses from one listing, without reading the disk', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['present', 'snapshot', 'a'], text('a'))
    const before = { ...adapter.stats }
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(await adapter.loadRange([`doc${i}`]), [])
      assert.deepEqual(await adapter.loadRange([`doc${i}`, 'snapshot']), [])
      assert.equal(await adapter.load([`doc${i}`, 'sync-state', 'peer']), undefined)
      await adapter.removeRange([`doc${i}`])
    }
    assert.equal(adapter.stats.listings, 1)
    assert.equal(adapter.stats.probes, before.probes)
    assert.equal(adapter.stats.indexMisses - before.indexMisses, 200)
    // A name it holds still goes to the disk.
    assert.equal((await adapter.loadRange(['present'])).length, 1)
    assert.ok(adapter.stats.probes > before.probes)
  })

  it('mayHoldPrefix: a synchronous index lookup, "maybe" until the index is built', async () => {
    await new CrashSafeStorageAdapter(base).save(['StoredDoc', 'snapshot', 'a'], text('a'))
    const adapter = new CrashSafeStorageAdapter(base)
    assert.equal(adapter.mayHoldPrefix('Unknown'), true, 'no index yet: maybe')
    assert.equal(await adapter.load(['storage-adapter-id']), undefined) // builds the index
    const probes = adapter.stats.probes
    assert.equal(adapter.mayHoldPrefix('StoredDoc'), true)
    assert.equal(adapter.mayHoldPrefix('storeddoc'), false, 'names are case-sensitive, as document ids are')
    assert.equal(adapter.mayHoldPrefix('Unknown'), false)
    assert.equal(adapter.stats.probes, probes, 'no disk access')
    await adapter.save(['Later', 'incremental', 'b'], text('b'))
    assert.equal(adapter.mayHoldPrefix('Later'), true)
    await adapter.removeRange(['Later'])
    assert.equal(adapter.mayHoldPrefix('Later'), false)
  })

  it('misses never touch the disk: they still answer when baseDir is no longer a directory', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['present', 'snapshot', 'a'], text('a'))
    assert.deepEqual(await adapter.loadRange(['absent']), []) // builds the index
    await rm(base, { recursive: true })
    await writeFile(base, 'not a directory')
    assert.deepEqual(await adapter.loadRange(['absent']), [])
    assert.equal(await adapter.load(['absent', 'x']), undefined)
    // Whereas a name the index holds is read from disk, and that fails.
    await assert.rejects(adapter.load(['present', 'snapshot', 'a']), /ENOTDIR/)
  })

  it('finds keys saved after the index was built, including single-component keys', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    assert.deepEqual(await adapter.loadRange(['doc']), [])
    assert.equal(await adapter.load(['storage-adapter-id']), undefined)
    await adapter.save(['doc', 'snapshot', 'h1'], text('s'))
    await adapter.save(['storage-adapter-id'], text('id'))
    assert.deepEqual((await adapter.loadRange(['doc'])).map((c) => c.key), [['doc', 'snapshot', 'h1']])
    assert.deepEqual(await adapter.load(['storage-adapter-id']), text('id'))
    // A save still in flight is found by the load that follows it.
    const saving = adapter.save(['doc2', 'incremental', 'i'], text('i'))
    assert.deepEqual(await adapter.load(['doc2', 'incremental', 'i']), text('i'))
    await saving
  })

  it('finds values a second adapter wrote before the first built its index', async () => {
    const first = new CrashSafeStorageAdapter(base)
    const second = new CrashSafeStorageAdapter(base)
    await second.save(['doc', 'snapshot', 'h'], text('from second'))
    await second.save(['storage-adapter-id'], text('id'))
    await writeFile(join(base, 'stray.txt'), 'not ours') // odd entries do not break the listing
    assert.deepEqual(await first.load(['doc', 'snapshot', 'h']), text('from second'))
    assert.deepEqual(await first.load(['storage-adapter-id']), text('id'))
    assert.equal((await first.loadRange(['doc'])).length, 1)
  })

  it('a removed key and a removed range are gone, and can be written again', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['doc', 'snapshot', 'a'], text('a'))
    await adapter.save(['doc', 'incremental', 'b'], text('b'))
    await adapter.save(['other', 'snapshot', 'c'], text('c'))
    await adapter.remove(['doc', 'snapshot', 'a'])
    assert.equal(await adapter.load(['doc', 'snapshot', 'a']), undefined)
    assert.deepEqual((await adapter.loadRange(['doc'])).map((c) => c.key), [['doc', 'incremental', 'b']])

    await adapter.removeRange(['doc'])
    const probes = adapter.stats.probes
    assert.deepEqual(await adapter.loadRange(['doc']), [])
    assert.equal(adapter.stats.probes, probes, 'a removed document is a miss answered by the index')
    assert.equal((await adapter.loadRange(['other'])).length, 1)

    // Its directories were pruned: a new save makes them again.
    await adapter.save(['doc', 'snapshot', 'd'], text('d'))
    assert.deepEqual(await adapter.load(['doc', 'snapshot', 'd']), text('d'))
    assert.deepEqual(await new CrashSafeStorageAdapter(base).load(['doc', 'snapshot', 'd']), text('d'))

    await adapter.removeRange([])
    assert.deepEqual(await adapter.loadRange([]), [])
    assert.deepEqual(await adapter.loadRange(['other']), [])
    await adapter.save(['other', 'snapshot', 'e'], text('e'))
    assert.deepEqual(await adapter.load(['other', 'snapshot', 'e']), text('e'))
  })

  it('never hides a value saved while a removeRange of its document runs', async () => {
    for (let round = 0; round < 20; round++) {
      const adapter = new CrashSafeStorageAdapter(base)
      const doc = `doc${round}`
      await adapter.loadRange(['absent']) // the index is built before the race
      await adapter.save([doc, 'snapshot', 'old'], text('old'))
      // Enough old values that the removal is still walking when the later saves land.
      for (let i = 0; i < 30; i++) await adapter.save([doc, 'incremental', `old${i}`], text('old'))
      const saves = [adapter.save([doc, 'incremental', 'new'], text('new'))]
      const removing = adapter.removeRange([doc])
      // Saves called after the removal started come after it: they stay, even when one lands before
      // the removal's listing reaches its directory (that race once deleted a sync state).
      const later = Array.from({ length: 8 }, (_, i) => `peer${i}`)
      for (const peer of later) saves.push(adapter.save([doc, 'sync-state', peer], text(peer)))
      await Promise.all([removing, ...saves])
      await adapter.flush() // sync states are written behind (storage.ts isCache)
      // Whatever landed on disk, this adapter sees exactly what a fresh one sees.
      assert.deepEqual(await adapter.loadRange([doc]), await new CrashSafeStorageAdapter(base).loadRange([doc]))
      for (const peer of later) assert.deepEqual(await adapter.load([doc, 'sync-state', peer]), text(peer), peer)
    }
  })

  it('a stale "present" entry costs a probe, not a wrong answer', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['doc', 'snapshot', 'a'], text('a'))
    await rm(join(base, 'doc'), { recursive: true }) // behind the adapter's back
    assert.deepEqual(await adapter.loadRange(['doc']), [])
    // Its memory of the directory is stale too: the next save makes it again.
    await adapter.save(['doc', 'snapshot', 'b'], text('b'))
    assert.deepEqual(await adapter.load(['doc', 'snapshot', 'b']), text('b'))
  })
})

/**
 * Records, on one logical clock, when renames and mkdirs finished and when directory fsyncs were
 * issued and finished (wrapping fs.promises and FileHandle.sync until restore()). fsyncs of the
 * directories `slow` picks (among `existing` and those made meanwhile) take 40 ms longer, so that
 * an acknowledgement that does not wait for them shows. `onMade` runs as each mkdir finishes.
 */
async function observeFs(
  options: { slow?: (path: string) => boolean; existing?: string[]; onMade?: (path: string) => void } = {},
) {
  const { slow = () => false, existing = [], onMade } = options
  let clock = 0
  const tick = () => ++clock
  const renamed = new Map<string, number>()
  const made = new Map<string, number>()
  const dirFsyncs: { ino: number; issued: number; done: number }[] = []
  const slowInos = new Set(existing.filter(slow).map((path) => fs.statSync(path).ino))
  const { rename, mkdir } = fs.promises
  const probe = await open(tmpdir(), 'r')
  const fileHandle = Object.getPrototypeOf(probe) as { sync(this: typeof probe): Promise<void> }
  await probe.close()
  const sync = fileHandle.sync
  fs.promises.rename = async (from, to) => {
    await rename(from, to)
    renamed.set(String(to), tick())
  }
  fs.promises.mkdir = (async (path: string, options?: fs.MakeDirectoryOptions) => {
    const result = await mkdir(path, options)
    if (!options?.recursive) made.set(String(path), tick())
    if (slow(String(path))) slowInos.add(fs.statSync(path).ino)
    onMade?.(String(path))
    return result
  }) as typeof mkdir
  syncBuiltinESMExports()
  fileHandle.sync = async function (this: typeof probe) {
    const stat = await this.stat()
    if (!stat.isDirectory()) return sync.call(this)
    const record = { ino: stat.ino, issued: tick(), done: Infinity }
    dirFsyncs.push(record)
    if (slowInos.has(stat.ino)) await new Promise((resolve) => setTimeout(resolve, 40))
    await sync.call(this)
    record.done = tick()
  }
  return {
    tick,
    renamed,
    made,
    dirFsyncs,
    /** Some fsync of `dirPath` was issued after `after` and finished before `before`. */
    durableBetween(dirPath: string, after: number, before: number) {
      const ino = fs.statSync(dirPath).ino
      return dirFsyncs.some((f) => f.ino === ino && f.issued > after && f.done < before)
    },
    restore() {
      fs.promises.rename = rename
      fs.promises.mkdir = mkdir
      syncBuiltinESMExports()
      fileHandle.sync = sync
    },
  }
}

describe('docs storage: shared directory fsyncs', () => {
  let dir: string
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'tonk-storage-fsync-'))))
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('concurrent saves into one directory share fsyncs; each is acknowledged after an fsync issued after its rename', async () => {
    const N = 40
    const adapter = new CrashSafeStorageAdapter(dir)
    await adapter.save(['doc', 'incremental', 'first'], text('first')) // the directories exist
    const before = { ...adapter.stats }
    const fsLog = await observeFs()
    const acked = new Map<string, number>()
    try {
      await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const key = ['doc', 'incremental', `h${i}`]
          await adapter.save(key, text(`v${i}`))
          acked.set(adapter.pathOf(key), fsLog.tick())
        }),
      )
    } finally {
      fsLog.restore()
    }

    const requests = adapter.stats.dirSyncRequests - before.dirSyncRequests
    const fsyncs = adapter.stats.dirSyncs - before.dirSyncs
    assert.equal(requests, N)
    assert.ok(fsyncs < N, `${fsyncs} directory fsyncs for ${N} saves`)
    assert.equal(fsLog.dirFsyncs.length, fsyncs)
    for (const [file, ackedAt] of acked) {
      const renamedAt = fsLog.renamed.get(file)!
      assert.ok(renamedAt < ackedAt)
      assert.ok(
        fsLog.durableBetween(dirname(file), renamedAt, ackedAt),
        `${file}: no directory fsync issued after its rename (${renamedAt}) finished before its ack (${ackedAt})`,
      )
    }
    const reopened = new CrashSafeStorageAdapter(dir)
    for (let i = 0; i < N; i++) assert.deepEqual(await reopened.load(['doc', 'incremental', `h${i}`]), text(`v${i}`))
    assert.equal((await reopened.loadRange(['doc'])).length, N + 1)
  })

  for (const indexed of [true, false]) {
    it(`a save into new directories is acknowledged only after each is fsynced into its parent (${indexed ? 'with' : 'before'} the index)`, async () => {
      const adapter = new CrashSafeStorageAdapter(dir)
      await adapter.save(['storage-adapter-id'], text('id')) // baseDir exists
      // With the index, new documents are known to be new: their directories are made without a failing open.
      if (indexed) assert.deepEqual(await adapter.loadRange(['doc0']), [])
      // The fsyncs that make new directories durable (of baseDir and the documents' directories) are slow.
      const acks: { file: string; at: number }[] = []
      const saves: Promise<void>[] = []
      const save = (key: string[]) =>
        saves.push(
          adapter.save(key, text(key.join('/'))).then(() => void acks.push({ file: adapter.pathOf(key), at: fsLog.tick() })),
        )
      const fsLog = await observeFs({
        slow: (path) => path === dir || dirname(path) === dir,
        existing: [dir],
        // A save that arrives while incremental/ exists but is not yet durable in its parent.
        onMade: (path) => void (basename(path) === 'incremental' && save([basename(dirname(path)), 'incremental', 'late'])),
      })
      try {
        // Saves of one new document at once: each waits for the directories another one is making.
        // (Not sync-state: those are written behind, storage.ts isCache.)
        for (let d = 0; d < 10; d++) {
          for (const path of ['snapshot/h', 'extra/h', 'incremental/a', 'incremental/b']) save([`doc${d}`, ...path.split('/')])
        }
        await Promise.all(saves)
        await Promise.all(saves) // the late ones
      } finally {
        fsLog.restore()
      }
      assert.equal(fsLog.made.size, 40)
      for (const { file, at } of acks) {
        for (let path = dirname(file); path !== dir; path = dirname(path)) {
          const madeAt = fsLog.made.get(path)!
          assert.ok(madeAt < at, path)
          assert.ok(fsLog.durableBetween(dirname(path), madeAt, at), `${file} acknowledged before ${path} was fsynced into its parent`)
        }
      }
      assert.equal(acks.length, 50)
      assert.equal((await new CrashSafeStorageAdapter(dir).loadRange([])).length, 51)
    })
  }

  it('documents made at once share the fsync of the base directory', async () => {
    const adapter = new CrashSafeStorageAdapter(dir)
    assert.deepEqual(await adapter.loadRange(['doc0']), [])
    const N = 30
    await Promise.all(Array.from({ length: N }, (_, i) => adapter.save([`doc${i}`, 'snapshot', 'h'], text(`${i}`))))
    // Per document: its directory (after mkdir of snapshot/) and snapshot/ (after the rename); the
    // base directory's fsyncs after the N mkdirs are shared.
    assert.ok(adapter.stats.dirSyncs < 3 * N, `${adapter.stats.dirSyncs} directory fsyncs`)
    const reopened = new CrashSafeStorageAdapter(dir)
    assert.equal((await reopened.loadRange([])).length, N)
  })

  it('without directory fsyncs nothing is counted or waited for', async () => {
    const adapter = new CrashSafeStorageAdapter(dir, { syncDirectories: false })
    await Promise.all(Array.from({ length: 10 }, (_, i) => adapter.save(['d', `k${i}`], text(`${i}`))))
    assert.equal(adapter.stats.dirSyncs, 0)
    assert.equal((await adapter.loadRange(['d'])).length, 10)
  })
})
