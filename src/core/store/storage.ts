// A crash-safe file-system StorageAdapter for automerge-repo.
//
// Why not NodeFSStorageAdapter: it writes in place with no fsync, so a crash can leave a torn snapshot
// (the document no longer loads) or a torn incremental (changes silently lost), and its chunk cache
// never evicts. This adapter:
//
// - writes every value to a temp file in the target directory, fsyncs it, renames it over the final
//   name and fsyncs the directory. A value is therefore either wholly old or wholly new on disk.
// - frames every value with a header (magic, version, write sequence, the full key) and a CRC32
//   trailer. A file that fails the check (truncated, garbage, misplaced) is skipped with a warning
//   and renamed to `*.corrupt`, so one bad chunk never stops the rest of a document from loading. A
//   torn snapshot cannot hide incrementals: each chunk is its own file and is checked on its own.
// - keeps no value cache: memory is bounded by the values of the current call, one queue entry per
//   key with an operation in flight, and a few names per document (the index and known directories).
// - answers loads of documents it does not hold without touching the disk: one listing of `baseDir`
//   at first use says which first key components exist; its own saves and removes keep it current.
//   It errs only towards "present" (costing a probe), never hiding a value. It relies on the single
//   writer below: values written by another process after the listing are not seen.
// - shares directory fsyncs: callers that renamed into one directory while its fsync was running
//   wait for one follow-up fsync, which started after all their renames.
//
// "Acknowledged": a save() (or remove()) is acknowledged when its promise resolves. By then the data
// is fsynced, renamed into place and the directory entry fsynced (sync states excepted: write-behind.ts): it survives a process kill and, on
// file systems that honour fsync, a power cut. automerge-repo saves documents on a throttle, so for a
// change to be acknowledged call `await repo.flush([documentId])`, which resolves after our save().
//
// Rooms: key-encoding.ts (key → path components), value-format.ts (header + CRC), durable-fs.ts
// (atomic write, durable directories, shared directory fsync, temp files), write-behind.ts (sync
// states); this file is the adapter and its index of names.
//
// On-disk layout under `baseDir`: a key [k0, k1, ..., kn] is the file `k0/k1/.../kn.v`, every
// component encoded by encodeKeyComponent() (so nothing in a key can escape baseDir or collide on a
// case-insensitive file system). Temp files are `<name>.v.<pid>.<n>.tmp`. Only one live process
// should write a directory at a time (the index relies on it); stale temp files of dead processes
// are removed on reads.
import { readdir, readFile, rename, rmdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../../shared/log'
import { DurableDir, errorCode, TEMP_SUFFIX } from './durable-fs'
import { isCache, WriteBehind, type Waiting } from './write-behind'
import { NameIndex } from './name-index'
import { checkKey, encodeKeyComponent, hasPrefix, sameKey } from './key-encoding'
import { decodeValue, encodeValue, type DecodedValue } from './value-format'

export { encodeKeyComponent, StorageKeyError } from './key-encoding'
export { crc32, crc32Portable, decodeValue, encodeValue, type DecodedValue } from './value-format'

const VALUE_SUFFIX = '.v'
const CORRUPT_SUFFIX = '.corrupt'
const IS_WINDOWS = process.platform === 'win32'

export interface CrashSafeStorageOptions {
  logger?: Logger
  /** fsync directories after renames and unlinks. Default: true (not possible on Windows, skipped). */
  syncDirectories?: boolean
}

/** What scrub() found: checked values, corrupt files set aside, stale temp files removed. */
export interface ScrubReport {
  values: number
  corrupt: string[]
  tempFilesRemoved: number
}


interface Located {
  dir: string
  file: string
  /** The encoded first key component: the index's unit. */
  name: string
}

/** What the adapter did on disk, for diagnostics and tests. */
export interface StorageStats {
  /** Listings of baseDir made to build the index (one, unless a listing failed). */
  listings: number
  /** Reads made looking for values (file reads and directory listings; scrub's included). */
  probes: number
  /** Loads and ranges answered from the index without touching the disk. */
  indexMisses: number
  /** Directory fsyncs asked for (after renames, unlinks and mkdirs) and actually run. */
  dirSyncRequests: number
  dirSyncs: number
}

/** A range being removed, with the files saved since it was called: those saves come after it and stay. */
interface OpenRemoval {
  prefix: StorageKey
  savedSince: Set<string>
}

interface FoundValue {
  file: string
  value: DecodedValue
}

export class CrashSafeStorageAdapter implements StorageAdapterInterface {
  readonly baseDir: string
  readonly #log: Logger
  readonly #fs: DurableDir
  /** Tail of the operations queued per value file: saves/removes of one key run in call order. */
  readonly #queues = new Map<string, Promise<void>>()
  #lastSeq = 0n
  readonly stats: StorageStats = { listings: 0, probes: 0, indexMisses: 0, dirSyncRequests: 0, dirSyncs: 0 }
  readonly #names: NameIndex
  readonly #openRemovals = new Set<OpenRemoval>()
  /** Sync states, written behind (write-behind.ts). */
  readonly #behind = new WriteBehind((due) => this.#writeBehind(due))

  constructor(baseDir: string, options: CrashSafeStorageOptions = {}) {
    this.baseDir = baseDir
    this.#log = options.logger ?? noopLogger
    this.#names = new NameIndex(baseDir, this.#log, this.stats)
    this.#fs = new DurableDir(baseDir, {
      log: this.#log,
      stats: this.stats,
      syncDirectories: (options.syncDirectories ?? true) && !IS_WINDOWS,
      indexSaysMissing: (name) => this.#names.surelyMissing(name),
    })
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    checkKey(key, false)
    const { file, name } = this.#locate(key)
    const behind = this.#behind.get(file)
    if (behind) return behind.data
    if (!(await this.#names.mayHold(name))) return undefined
    await this.#queues.get(file) // read your own writes
    const found = await this.#readValue(file, key)
    return found?.value.data
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    checkKey(key, false)
    if (!(data instanceof Uint8Array)) throw new TypeError('storage value must be a Uint8Array')
    const located = this.#locate(key)
    // Copied: the caller may reuse its buffer once save() returns.
    if (isCache(key)) return this.#behind.put({ ...located, key: [...key], data: data.slice(), seq: this.#nextSeq() })
    await this.#write(located, key, data, this.#nextSeq())
  }

  async #write({ dir, file, name }: Located, key: StorageKey, data: Uint8Array, seq: bigint): Promise<void> {
    // Encode now: the caller may reuse its buffer once save() returns its promise.
    const bytes = encodeValue(key, data, seq)
    const saved = this.#names.noteSaveStarted(name)
    for (const removal of this.#openRemovals) if (hasPrefix(key, removal.prefix)) removal.savedSince.add(file)
    try {
      await this.#enqueue(file, () => this.#fs.writeAtomically(dir, file, bytes, !isCache(key)))
    } finally {
      saved()
    }
  }

  async remove(key: StorageKey): Promise<void> {
    checkKey(key, false)
    const { dir, file } = this.#locate(key)
    this.#behind.drop(file)
    await this.#enqueue(file, async () => {
      if (await this.#fs.unlinkIfPresent(file)) await this.#fs.syncDir(dir)
    })
  }

  /**
   * Every value whose key starts with `keyPrefix`, in write order (by the sequence stored in each
   * header; automerge-repo's conformance suite expects insertion order). Corrupt files are skipped.
   */
  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    checkKey(keyPrefix, true)
    const found: FoundValue[] = []
    if (keyPrefix.length === 0 || (await this.#names.mayHold(encodeKeyComponent(keyPrefix[0]!)))) {
      await this.#visitRange(keyPrefix, async (file, expected) => {
        const value = await this.#readValue(file, expected)
        if (value && hasPrefix(value.value.key, keyPrefix)) found.push(value)
      })
    }
    // Cache values written behind stand for what is on disk under their key.
    for (const b of this.#behind.inRange(keyPrefix)) {
      const onDisk = found.findIndex((f) => f.file === b.file)
      if (onDisk >= 0) found.splice(onDisk, 1)
      found.push({ file: b.file, value: { key: b.key, data: b.data, seq: b.seq } })
    }
    found.sort((a, b) => (a.value.seq < b.value.seq ? -1 : a.value.seq > b.value.seq ? 1 : a.file < b.file ? -1 : 1))
    return found.map(({ value }) => ({ key: value.key, data: value.data }))
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    checkKey(keyPrefix, true)
    // A save called after this call is ordered after the removal: if it lands before the listing
    // reaches its file, the listing must not take it away. Registered before the first await.
    const removal = { prefix: keyPrefix, savedSince: new Set<string>() }
    this.#openRemovals.add(removal)
    this.#behind.dropRange(keyPrefix)
    try {
      const name = keyPrefix.length > 0 ? encodeKeyComponent(keyPrefix[0]!) : undefined
      if (name !== undefined && !(await this.#names.mayHold(name))) return
      // Only a range covering whole names can drop them from the index.
      if (keyPrefix.length > 1) return await this.#removeRangeFromDisk(removal)
      await this.#names.whileRemoving(name, () => this.#removeRangeFromDisk(removal))
    } finally {
      this.#openRemovals.delete(removal)
    }
  }

  async #removeRangeFromDisk({ prefix, savedSince }: OpenRemoval): Promise<void> {
    const dirs = new Set<string>()
    await this.#visitRange(
      prefix,
      async (file) => {
        await this.#enqueue(file, async () => {
          if (savedSince.has(file)) return
          if (await this.#fs.unlinkIfPresent(file)) dirs.add(dirname(file))
        })
      },
      async (file) => {
        if (await this.#fs.unlinkIfPresent(file)) dirs.add(dirname(file))
      },
    )
    for (const dir of dirs) await this.#fs.syncDir(dir)
    await this.#pruneEmptyDirs(prefix)
  }

  /**
   * Resolves when every save/remove started before the call has been acknowledged (or failed), and the
   * cache values written behind are written.
   */
  async flush(): Promise<void> {
    await Promise.all([this.#behind.flush(), ...this.#queues.values()])
  }

  /** Writes cache values (isCache); a failure only costs a longer sync, so it is logged. */
  async #writeBehind(due: Waiting[]): Promise<void> {
    await Promise.all(
      due.map((b) => this.#write(b, b.key, b.data, b.seq).catch((err) => this.#log.warn(`storage: writing a sync state failed: ${String(err)}`))),
    )
  }

  /**
   * Checks every stored value, sets aside corrupt ones and removes stale temp files. Not needed for
   * correctness (reads do the same for what they touch); useful for a "doctor" command and tests.
   */
  async scrub(): Promise<ScrubReport> {
    const report: ScrubReport = { values: 0, corrupt: [], tempFilesRemoved: 0 }
    await this.#visitRange(
      [],
      async (file) => {
        const ok = await this.#readValue(file, undefined, (reason) => report.corrupt.push(`${file}: ${reason}`))
        if (ok) report.values++
      },
      undefined,
      () => report.tempFilesRemoved++,
    )
    return report
  }

  /**
   * False only when no stored key starts with `first` (for a document id: the document is not on
   * disk). An in-memory lookup in the index of names, never a disk access, so a peer may trigger it per
   * message. True while the index is not built yet (before the first load, save or range call).
   */
  mayHoldPrefix(first: string): boolean {
    return this.#names.mayHoldNow(encodeKeyComponent(first))
  }

  /** The file that holds `key` (for diagnostics and tests). */
  pathOf(key: StorageKey): string {
    checkKey(key, false)
    return this.#locate(key).file
  }

  // -- internals ----------------------------------------------------------------------------------

  #locate(key: StorageKey): Located {
    const parts = key.map(encodeKeyComponent)
    const dir = join(this.baseDir, ...parts.slice(0, -1))
    return { dir, file: join(dir, parts[parts.length - 1] + VALUE_SUFFIX), name: parts[0]! }
  }

  /** Time-based, strictly increasing within a process: keeps loadRange in write order across restarts. */
  #nextSeq(): bigint {
    const now = BigInt(Date.now()) * 1000n
    this.#lastSeq = now > this.#lastSeq ? now : this.#lastSeq + 1n
    return this.#lastSeq
  }

  #enqueue(file: string, operation: () => Promise<void>): Promise<void> {
    const run = (this.#queues.get(file) ?? Promise.resolve()).then(operation)
    const tail = run.catch(() => {})
    this.#queues.set(file, tail)
    void tail.then(() => {
      if (this.#queues.get(file) === tail) this.#queues.delete(file)
    })
    return run
  }

  /**
   * Reads and verifies one value file. Missing → undefined. Corrupt (or holding another key) →
   * warning, the file is set aside as `*.corrupt`, undefined.
   */
  async #readValue(
    file: string,
    expectedKey: StorageKey | undefined,
    onCorrupt?: (reason: string) => void,
  ): Promise<FoundValue | undefined> {
    let bytes: Buffer
    this.stats.probes++
    try {
      bytes = await readFile(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined
      throw error
    }
    const decoded = decodeValue(bytes)
    let reason = typeof decoded === 'string' ? decoded : undefined
    if (typeof decoded !== 'string') {
      if (expectedKey && !sameKey(decoded.key, expectedKey)) reason = 'holds a different key'
      else if (this.#locate(decoded.key).file !== file) reason = 'key does not belong at this path'
    }
    if (reason === undefined) return { file, value: decoded as DecodedValue }
    this.#log.warn(`storage: skipping ${file}: ${reason}`)
    onCorrupt?.(reason)
    await this.#quarantine(file)
    return undefined
  }

  /** Renames a corrupt file aside, in the key's queue and only if it is still corrupt (a save may have replaced it). */
  async #quarantine(file: string): Promise<void> {
    await this.#enqueue(file, async () => {
      let bytes: Buffer
      try {
        bytes = await readFile(file)
      } catch {
        return
      }
      const decoded = decodeValue(bytes)
      if (typeof decoded !== 'string' && this.#locate(decoded.key).file === file) return
      await rename(file, file + CORRUPT_SUFFIX).catch((error) =>
        this.#log.warn(`storage: could not set aside ${file}: ${String(error)}`),
      )
    }).catch(() => {})
  }

  /**
   * Calls `onValue` for every value file that may hold a key with this prefix (with the exact key
   * when the path alone determines it) and `onOther` for corrupt files set aside. Stale temp files
   * (of dead processes, or of this one but no longer in flight) are removed on the way.
   */
  async #visitRange(
    prefix: StorageKey,
    onValue: (file: string, expectedKey: StorageKey | undefined) => Promise<void>,
    onOther?: (file: string) => Promise<void>,
    onTempRemoved?: () => void,
  ): Promise<void> {
    const walk = async (dir: string): Promise<void> => {
      let entries
      this.stats.probes++
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return
        throw error
      }
      for (const entry of entries) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await walk(path)
        else if (entry.name.endsWith(VALUE_SUFFIX)) await onValue(path, undefined)
        else if (entry.name.endsWith(TEMP_SUFFIX)) {
          if (await this.#fs.removeStaleTemp(path)) onTempRemoved?.()
        } else if (entry.name.endsWith(CORRUPT_SUFFIX)) await onOther?.(path)
      }
    }
    if (prefix.length === 0) return walk(this.baseDir)
    const { dir, file } = this.#locate(prefix)
    await onValue(file, prefix)
    // Temp and corrupt files of the exact key sit next to it, not under its directory.
    const base = file.slice(dir.length + 1)
    let siblings: string[] = []
    this.stats.probes++
    try {
      siblings = await readdir(dir)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') throw error
    }
    for (const name of siblings) {
      if (!name.startsWith(base + '.') || name === base) continue
      if (name.endsWith(TEMP_SUFFIX)) {
        if (await this.#fs.removeStaleTemp(join(dir, name))) onTempRemoved?.()
      } else if (name.endsWith(CORRUPT_SUFFIX)) await onOther?.(join(dir, name))
    }
    await walk(file.slice(0, -VALUE_SUFFIX.length))
  }

  /** Removes directories left empty under a removed prefix (never baseDir itself). */
  async #pruneEmptyDirs(prefix: StorageKey): Promise<void> {
    const root = prefix.length === 0 ? this.baseDir : this.#locate(prefix).file.slice(0, -VALUE_SUFFIX.length)
    const prune = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const entry of entries) if (entry.isDirectory()) await prune(join(dir, entry.name))
      if (dir === this.baseDir) return
      const known = this.#fs.known(dir)
      try {
        await rmdir(dir)
      } catch {
        return // ENOTEMPTY (a concurrent save landed) and ENOENT are fine: the directory stays or is gone.
      }
      if (known) this.#fs.forget(dir, known)
      else this.#fs.forget(dir)
    }
    await prune(root)
  }
}
