// CrashSafeStorageAdapter beyond the upstream suite: key encoding, concurrency, torn and foreign
// files, and a real Repo over it.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, truncate, writeFile, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { Automerge, Repo, type DocumentId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { ensureStorageId } from '../../src/core/store/repo'
import type { Logger } from '../../src/shared/log'
import {
  CrashSafeStorageAdapter,
  StorageKeyError,
  crc32,
  crc32Portable,
  decodeValue,
  encodeKeyComponent,
  encodeValue,
} from '../../src/core/store/storage'

const bytes = (...values: number[]) => new Uint8Array(values)
const text = (s: string) => new TextEncoder().encode(s)

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(path)))
    else out.push(path)
  }
  return out
}

function recordingLogger() {
  const warnings: string[] = []
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} }
  return { logger, warnings }
}

const ODD_COMPONENTS = [
  '',
  '.',
  '..',
  '../../etc/passwd',
  '/',
  '\\',
  'a/b',
  'C:\\x',
  'CON',
  'con',
  'nul',
  'Ab',
  'aB',
  'ab',
  '_a',
  '%41',
  '%',
  '~',
  'a b',
  'tab\there',
  'nul\u0000byte',
  'ünïcødé',
  '🦀',
  'x'.repeat(1000),
  'y'.repeat(149),
  'storage-adapter-id',
  'a.v',
  'a.v.1.1.tmp',
]

describe('docs storage: key encoding', () => {
  it('is injective, case-insensitive-safe, and never yields separators, dots or traversal', () => {
    const encoded = ODD_COMPONENTS.map(encodeKeyComponent)
    assert.equal(new Set(encoded).size, ODD_COMPONENTS.length)
    assert.equal(new Set(encoded.map((e) => e.toLowerCase())).size, ODD_COMPONENTS.length)
    for (const name of encoded) {
      assert.ok(!/[./\\\u0000]/.test(name), name)
      assert.ok(name.length > 0 && name.length <= 150, name)
      assert.ok(!/^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i.test(name), name)
    }
  })

  it('keeps document ids readable', () => {
    assert.equal(encodeKeyComponent('snapshot'), 'snapshot')
    assert.equal(encodeKeyComponent('2ZQm'), '2_z_qm')
  })

  it('refuses keys that are not arrays of well-formed strings', async () => {
    const adapter = new CrashSafeStorageAdapter(join(tmpdir(), 'never-created'))
    await assert.rejects(adapter.save([], bytes(1)), StorageKeyError)
    await assert.rejects(adapter.save(['a', 1 as unknown as string], bytes(1)), StorageKeyError)
    await assert.rejects(adapter.save(['\uD800'], bytes(1)), StorageKeyError)
    await assert.rejects(adapter.load('a' as unknown as string[]), StorageKeyError)
  })
})

describe('docs storage: value format', () => {
  it('CRC32 matches the portable implementation and known vectors', () => {
    assert.equal(crc32(text('123456789')), 0xcbf43926)
    assert.equal(crc32Portable(text('123456789')), 0xcbf43926)
    const random = new Uint8Array(10_000).map(() => Math.floor(Math.random() * 256))
    assert.equal(crc32(random), crc32Portable(random))
  })

  it('round-trips and rejects every truncation and a flipped bit', () => {
    const file = encodeValue(['doc', 'incremental', 'h'], bytes(1, 2, 3, 4, 5), 42n)
    const decoded = decodeValue(file)
    assert.ok(typeof decoded !== 'string')
    assert.deepEqual(decoded.key, ['doc', 'incremental', 'h'])
    assert.equal(decoded.seq, 42n)
    assert.deepEqual(decoded.data, bytes(1, 2, 3, 4, 5))
    for (let n = 0; n < file.length; n++) assert.equal(typeof decodeValue(file.subarray(0, n)), 'string', `length ${n}`)
    for (let i = 0; i < file.length; i++) {
      const flipped = Buffer.from(file)
      flipped[i]! ^= 0x10
      assert.equal(typeof decodeValue(flipped), 'string', `bit flip at ${i}`)
    }
  })
})

describe('docs storage: adapter', () => {
  let dir: string
  let base: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-storage-'))
    base = join(dir, 'store')
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('stores keys with odd characters, all inside the base directory', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    const keys = [...ODD_COMPONENTS.map((c) => [c]), ...ODD_COMPONENTS.map((c) => ['doc', c, 'x'])]
    await Promise.all(keys.map((key, i) => adapter.save(key, text(`value ${i}`))))
    for (const [i, key] of keys.entries()) assert.deepEqual(await adapter.load(key), text(`value ${i}`), JSON.stringify(key))
    const all = await adapter.loadRange([])
    assert.equal(all.length, keys.length)
    assert.equal((await adapter.loadRange(['doc'])).length, ODD_COMPONENTS.length)
    // Nothing escaped: the temp dir holds only the base directory, every file is under it.
    assert.deepEqual(await readdir(dir), ['store'])
    for (const file of await listFiles(base)) assert.ok(!relative(base, file).startsWith('..' + sep), file)
  })

  it('a key and a longer key sharing its prefix coexist; loadRange of the exact key includes both', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['a'], bytes(1))
    await adapter.save(['a', 'b'], bytes(2))
    await adapter.save(['ab'], bytes(3))
    assert.deepEqual(
      (await adapter.loadRange(['a'])).map((c) => c.key),
      [['a'], ['a', 'b']],
    )
    await adapter.remove(['a'])
    assert.deepEqual(await adapter.load(['a', 'b']), bytes(2))
  })

  it('concurrent saves of one key: the last call wins and no temp file is left', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    const key = ['doc', 'sync-state', 'peer']
    await Promise.all(Array.from({ length: 50 }, (_, i) => adapter.save(key, text(`v${i}`))))
    assert.deepEqual(await adapter.load(key), text('v49'))
    // Interleaved save/remove also keeps call order.
    const ops = [adapter.save(key, text('x')), adapter.remove(key), adapter.save(key, text('y'))]
    await Promise.all(ops)
    assert.deepEqual(await adapter.load(key), text('y'))
    assert.deepEqual((await listFiles(base)).filter((f) => f.endsWith('.tmp')), [])
  })

  it('sync states (a cache) are written behind: read back at once, on disk after flush, never fsynced', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['doc', 'incremental', 'h1'], text('a'))
    await adapter.save(['doc', 'sync-state', 'peer'], text('s0'))
    await adapter.flush() // the directories exist after these
    const before = adapter.stats.dirSyncRequests
    await adapter.save(['doc', 'sync-state', 'peer'], text('s1'))
    await adapter.save(['doc', 'sync-state', 'other'], text('s2'))
    assert.deepEqual(await adapter.load(['doc', 'sync-state', 'peer']), text('s1'), 'read your own writes')
    assert.deepEqual(await new CrashSafeStorageAdapter(base).load(['doc', 'sync-state', 'peer']), text('s0'), 'not written yet')
    assert.deepEqual(
      (await adapter.loadRange(['doc', 'sync-state'])).map((c) => new TextDecoder().decode(c.data)).sort(),
      ['s1', 's2'],
      'a range sees the waiting values, not the older ones on disk',
    )
    await adapter.flush()
    assert.equal(adapter.stats.dirSyncRequests, before, 'a sync state asked for a directory fsync')
    assert.deepEqual(await new CrashSafeStorageAdapter(base).load(['doc', 'sync-state', 'peer']), text('s1'))
    await adapter.save(['doc', 'incremental', 'h2'], text('b'))
    assert.equal(adapter.stats.dirSyncRequests, before + 1, 'a document chunk was not fsynced')
  })

  it('a removed sync state is not written later; removeRange drops the waiting ones of a document', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['doc', 'sync-state', 'peer'], text('s'))
    await adapter.remove(['doc', 'sync-state', 'peer'])
    assert.equal(await adapter.load(['doc', 'sync-state', 'peer']), undefined)
    await adapter.save(['doc2', 'sync-state', 'peer'], text('t'))
    await adapter.removeRange(['doc2'])
    await adapter.flush()
    assert.equal(await new CrashSafeStorageAdapter(base).load(['doc', 'sync-state', 'peer']), undefined)
    assert.equal(await new CrashSafeStorageAdapter(base).load(['doc2', 'sync-state', 'peer']), undefined)
  })

  it('load waits for a save of the same key that is in flight', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    const saving = adapter.save(['k'], text('fresh'))
    assert.deepEqual(await adapter.load(['k']), text('fresh'))
    await saving
  })

  it('many keys across many documents; removeRange removes exactly one document and prunes its directories', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    const docs = Array.from({ length: 40 }, (_, d) => `doc${d}`)
    await Promise.all(
      docs.flatMap((doc) =>
        Array.from({ length: 12 }, (_, i) => adapter.save([doc, i % 2 ? 'incremental' : 'snapshot', `h${i}`], text(`${doc}/${i}`))),
      ),
    )
    assert.equal((await adapter.loadRange([])).length, 480)
    const doc7 = await adapter.loadRange(['doc7'])
    assert.equal(doc7.length, 12)
    assert.ok(doc7.every((c) => c.key[0] === 'doc7'))
    assert.equal((await adapter.loadRange(['doc7', 'incremental'])).length, 6)
    await adapter.removeRange(['doc7'])
    assert.deepEqual(await adapter.loadRange(['doc7']), [])
    assert.equal((await adapter.loadRange([])).length, 468)
    assert.ok(!(await readdir(base)).includes('doc7'))
    await adapter.flush()
  })

  it('loadRange returns values in write order', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    const names = ['z', 'a', 'm', 'b', 'y']
    for (const name of names) await adapter.save(['d', name], text(name))
    assert.deepEqual(
      (await adapter.loadRange(['d'])).map((c) => c.key[1]),
      names,
    )
  })

  it('skips torn, garbage and misplaced files with a warning, removes stale temp files, loads the rest', async () => {
    const { logger, warnings } = recordingLogger()
    const adapter = new CrashSafeStorageAdapter(base, { logger })
    for (let i = 0; i < 6; i++) await adapter.save(['doc', 'incremental', `h${i}`], text(`chunk ${i}`.repeat(20)))
    const torn = adapter.pathOf(['doc', 'incremental', 'h1'])
    const garbage = adapter.pathOf(['doc', 'incremental', 'h2'])
    const misplaced = adapter.pathOf(['doc', 'incremental', 'h3'])
    const empty = adapter.pathOf(['doc', 'incremental', 'h4'])
    await truncate(torn, Math.floor((await readFile(torn)).length / 2))
    await writeFile(garbage, 'not a value at all')
    await copyFile(adapter.pathOf(['doc', 'incremental', 'h0']), misplaced) // valid file, wrong key
    await truncate(empty, 0)
    const deadTemp = `${adapter.pathOf(['doc', 'incremental', 'h9'])}.999999999.1.tmp`
    const ownTemp = `${adapter.pathOf(['doc', 'incremental', 'h8'])}.${process.pid}.999.tmp`
    await writeFile(deadTemp, 'partial')
    await writeFile(ownTemp, 'partial')

    const chunks = await adapter.loadRange(['doc', 'incremental'])
    assert.deepEqual(
      chunks.map((c) => c.key[2]),
      ['h0', 'h5'],
    )
    assert.equal(warnings.length, 4, warnings.join('\n'))
    assert.equal(await adapter.load(['doc', 'incremental', 'h1']), undefined)
    const files = (await listFiles(base)).map((f) => relative(base, f)).sort()
    assert.ok(!files.some((f) => f.endsWith('.tmp')), files.join(', '))
    assert.equal(files.filter((f) => f.endsWith('.corrupt')).length, 4)
    // A key set aside can be written again.
    await adapter.save(['doc', 'incremental', 'h1'], text('again'))
    assert.deepEqual(await adapter.load(['doc', 'incremental', 'h1']), text('again'))
    // removeRange also clears the corrupt leftovers.
    await adapter.removeRange(['doc'])
    assert.deepEqual(await listFiles(base), [])
  })

  it('a corrupt exact-key load returns undefined instead of throwing', async () => {
    const { logger, warnings } = recordingLogger()
    const adapter = new CrashSafeStorageAdapter(base, { logger })
    await adapter.save(['storage-adapter-id'], text('id'))
    await truncate(adapter.pathOf(['storage-adapter-id']), 10)
    assert.equal(await adapter.load(['storage-adapter-id']), undefined)
    assert.equal(warnings.length, 1)
  })

  it('scrub reports corrupt files and removes stale temp files', async () => {
    const adapter = new CrashSafeStorageAdapter(base)
    await adapter.save(['a', 'b'], text('ok'))
    await adapter.save(['a', 'c'], text('bad'))
    await writeFile(adapter.pathOf(['a', 'c']), 'x')
    await writeFile(`${adapter.pathOf(['top'])}.999999999.1.tmp`, 'x')
    const report = await adapter.scrub()
    assert.equal(report.values, 1)
    assert.equal(report.corrupt.length, 1)
    assert.equal(report.tempFilesRemoved, 1)
  })
})

describe('docs storage: under a Repo', () => {
  let dir: string
  before(() => initAutomerge())
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'tonk-storage-repo-'))))
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('documents survive shutdown and reopen in a new Repo, with the same storage id', async () => {
    // As createBundleRepo does: on a fresh directory automerge-repo mints two storage ids at once
    // (a race upstream) unless one is stored before the Repo starts.
    const storage = new CrashSafeStorageAdapter(dir)
    await ensureStorageId(storage)
    const first = new Repo({ storage, network: [] })
    const storageId = await first.storageId()
    const urls = []
    for (let i = 0; i < 5; i++) {
      const handle = first.create<{ n: number; items: string[] }>({ n: i, items: [] })
      for (let j = 0; j < 30; j++) handle.change((d) => void d.items.push(`item ${j} `.repeat(10)))
      urls.push(handle.url)
    }
    await first.shutdown()

    const second = new Repo({ storage: new CrashSafeStorageAdapter(dir), network: [] })
    assert.equal(await second.storageId(), storageId)
    for (const [i, url] of urls.entries()) {
      const doc = (await second.find<{ n: number; items: string[] }>(url)).doc()
      assert.equal(doc.n, i)
      assert.equal(doc.items.length, 30)
    }
    await second.shutdown()
  })

  it('a torn newer snapshot does not hide the older snapshot and incrementals', async () => {
    // The state of a compaction caught half-way: old snapshot + incrementals still there, the new
    // snapshot damaged (NodeFSStorageAdapter would fail with "unable to parse chunk").
    let doc = Automerge.from<{ items: number[] }>({ items: [] })
    for (let i = 0; i < 10; i++) doc = Automerge.change(doc, (d) => void d.items.push(i))
    const oldSnapshot = Automerge.save(doc)
    const oldHeads = Automerge.getHeads(doc)
    for (let i = 10; i < 20; i++) doc = Automerge.change(doc, (d) => void d.items.push(i))
    const incremental = Automerge.saveSince(doc, oldHeads)
    const newSnapshot = Automerge.save(doc)

    const { logger, warnings } = recordingLogger()
    const adapter = new CrashSafeStorageAdapter(dir, { logger })
    const handle = new Repo({ network: [] }).import(newSnapshot)
    const documentId = handle.documentId as DocumentId
    await adapter.save([documentId, 'snapshot', 'old'], oldSnapshot)
    await adapter.save([documentId, 'incremental', 'inc'], incremental)
    await adapter.save([documentId, 'snapshot', 'new'], newSnapshot)
    const newFile = adapter.pathOf([documentId, 'snapshot', 'new'])
    await truncate(newFile, Math.floor(newSnapshot.length / 2))

    const repo = new Repo({ storage: adapter, network: [] })
    const loaded = (await repo.find<{ items: number[] }>(documentId)).doc()
    assert.deepEqual([...loaded.items], Array.from({ length: 20 }, (_, i) => i))
    assert.equal(warnings.length, 1)
    await repo.shutdown()
  })
})
