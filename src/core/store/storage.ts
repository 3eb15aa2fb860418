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
// is fsynced, renamed into place and the directory entry fsynced: it survives a process kill and, on
// file systems that honour fsync, a power cut. automerge-repo saves documents on a throttle, so for a
// change to be acknowledged call `await repo.flush([documentId])`, which resolves after our save().
//
// On-disk layout under `baseDir`: a key [k0, k1, ..., kn] is the file `k0/k1/.../kn.v`, every
// component encoded by encodeKeyComponent() (so nothing in a key can escape baseDir or collide on a
// case-insensitive file system). Temp files are `<name>.v.<pid>.<n>.tmp`. Only one live process
// should write a directory at a time (the index relies on it); stale temp files of dead processes
// are removed on reads.
import { mkdir, open, readdir, readFile, rename, rmdir, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../../shared/log'
import { sleep } from '../util/async'
import { processIsAlive } from '../util/process'
import { checkKey, encodeKeyComponent, hasPrefix, sameKey } from './key-encoding'
import { decodeValue, encodeValue, type DecodedValue } from './value-format'

export { encodeKeyComponent, StorageKeyError } from './key-encoding'
export { crc32, crc32Portable, decodeValue, encodeValue, type DecodedValue } from './value-format'

const VALUE_SUFFIX = '.v'
const TEMP_SUFFIX = '.tmp'
const CORRUPT_SUFFIX = '.corrupt'
/** Documents are private to the data dir's owner (see core/host/data-dir.ts). */
const DIR_MODE = 0o700
const FILE_MODE = 0o600
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


const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code


interface Located {
  dir: string
  file: string
  /** The encoded first key component: the index's unit. */
  name: string
}

/** A directory this adapter made sure exists; `ready` settles once it exists (and is durable, if created here). */
interface KnownDir {
  ready: Promise<void>
  /** Created by this adapter: then every entry in it is ours, and a child it does not know is missing. */
  createdHere: boolean
}

/** A removeRange covering one name (or all): saves of a covered name during it keep the name indexed. */
interface OpenRemoval {
  name: string | undefined
  touched: Set<string>
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

/** Per directory: the fsync running (joinable until it is issued) and the one follow-up queued behind it. */
interface DirSyncState {
  running?: Promise<void>
  joinable?: Promise<void>
  queued?: Promise<void>
}

const noop = () => {}

interface FoundValue {
  file: string
  value: DecodedValue
}

export class CrashSafeStorageAdapter implements StorageAdapterInterface {
  readonly baseDir: string
  readonly #log: Logger
  readonly #syncDirectories: boolean
  /** Tail of the operations queued per value file: saves/removes of one key run in call order. */
  readonly #queues = new Map<string, Promise<void>>()
  /** Temp files this process is writing right now; never cleaned up from under a writer. */
  readonly #inflightTemps = new Set<string>()
  #tempCounter = 0
  #lastSeq = 0n
  readonly stats: StorageStats = { listings: 0, probes: 0, indexMisses: 0, dirSyncRequests: 0, dirSyncs: 0 }
  // The index: a name may hold data iff it is in one of these sets. Undefined until baseDir is listed.
  #listedNames: Set<string> | undefined
  #listing: Promise<boolean> | undefined
  /** Names this adapter saved under since it started (dropped only by a removeRange that covered them). */
  readonly #savedNames = new Set<string>()
  readonly #savesInFlight = new Map<string, number>()
  readonly #openRemovals = new Set<OpenRemoval>()
  readonly #knownDirs = new Map<string, KnownDir>()
  readonly #dirSyncs = new Map<string, DirSyncState>()

  constructor(baseDir: string, options: CrashSafeStorageOptions = {}) {
    this.baseDir = baseDir
    this.#log = options.logger ?? noopLogger
    this.#syncDirectories = (options.syncDirectories ?? true) && !IS_WINDOWS
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    checkKey(key, false)
    const { file, name } = this.#locate(key)
    if (!(await this.#mayHold(name))) return undefined
    await this.#queues.get(file) // read your own writes
    const found = await this.#readValue(file, key)
    return found?.value.data
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    checkKey(key, false)
    if (!(data instanceof Uint8Array)) throw new TypeError('storage value must be a Uint8Array')
    const { dir, file, name } = this.#locate(key)
    // Encode now: the caller may reuse its buffer once save() returns its promise.
    const bytes = encodeValue(key, data, this.#nextSeq())
    const saved = this.#noteSaveStarted(name)
    try {
      await this.#enqueue(file, () => this.#writeAtomically(dir, file, bytes))
    } finally {
      saved()
    }
  }

  async remove(key: StorageKey): Promise<void> {
    checkKey(key, false)
    const { dir, file } = this.#locate(key)
    await this.#enqueue(file, async () => {
      if (await this.#unlinkIfPresent(file)) await this.#syncDir(dir)
    })
  }

  /**
   * Every value whose key starts with `keyPrefix`, in write order (by the sequence stored in each
   * header; automerge-repo's conformance suite expects insertion order). Corrupt files are skipped.
   */
  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    checkKey(keyPrefix, true)
    if (keyPrefix.length > 0 && !(await this.#mayHold(encodeKeyComponent(keyPrefix[0]!)))) return []
    const found: FoundValue[] = []
    await this.#visitRange(keyPrefix, async (file, expected) => {
      const value = await this.#readValue(file, expected)
      if (value && hasPrefix(value.value.key, keyPrefix)) found.push(value)
    })
    found.sort((a, b) => (a.value.seq < b.value.seq ? -1 : a.value.seq > b.value.seq ? 1 : a.file < b.file ? -1 : 1))
    return found.map(({ value }) => ({ key: value.key, data: value.data }))
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    checkKey(keyPrefix, true)
    const name = keyPrefix.length > 0 ? encodeKeyComponent(keyPrefix[0]!) : undefined
    if (name !== undefined && !(await this.#mayHold(name))) return
    // Only a range covering whole names can drop them from the index.
    const removal: OpenRemoval | undefined = keyPrefix.length <= 1 ? { name, touched: new Set() } : undefined
    if (removal) this.#openRemovals.add(removal)
    try {
      await this.#removeRangeFromDisk(keyPrefix)
      if (removal) this.#forgetRemovedNames(removal)
    } finally {
      if (removal) this.#openRemovals.delete(removal)
    }
  }

  async #removeRangeFromDisk(keyPrefix: StorageKey): Promise<void> {
    const dirs = new Set<string>()
    await this.#visitRange(
      keyPrefix,
      async (file) => {
        await this.#enqueue(file, async () => {
          if (await this.#unlinkIfPresent(file)) dirs.add(dirname(file))
        })
      },
      async (file) => {
        if (await this.#unlinkIfPresent(file)) dirs.add(dirname(file))
      },
    )
    for (const dir of dirs) await this.#syncDir(dir)
    await this.#pruneEmptyDirs(keyPrefix)
  }

  /** Resolves when every save/remove started before the call has been acknowledged (or failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()])
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
    const name = encodeKeyComponent(first)
    if (this.#savedNames.has(name)) return true
    return this.#listedNames ? this.#listedNames.has(name) : true
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

  // -- the index of names -------------------------------------------------------------------------

  /** False only when nothing stored can start with `name`: then no disk access is needed. */
  async #mayHold(name: string): Promise<boolean> {
    if (this.#savedNames.has(name) || this.#listedNames?.has(name)) return true
    if (!this.#listedNames) {
      // First use: list baseDir once. If that fails we are unsure: ask the disk.
      if (!(await (this.#listing ??= this.#listBaseDir()))) return true
      if (this.#savedNames.has(name) || this.#listedNames!.has(name)) return true
    }
    this.stats.indexMisses++
    return false
  }

  async #listBaseDir(): Promise<boolean> {
    this.stats.listings++
    let entries: string[] = []
    try {
      entries = await readdir(this.baseDir)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.#log.warn(`storage: cannot list ${this.baseDir}, reading without an index: ${String(error)}`)
        this.#listing = undefined // try again next time
        return false
      }
    }
    // `k0` (a directory), `k0.v` and its temp/corrupt siblings: encoded components hold no '.'.
    this.#listedNames = new Set(entries.map((entry) => entry.split('.')[0]!))
    return true
  }

  /** Indexes `name` before anything is written and records the save for removeRange. Returns its "done". */
  #noteSaveStarted(name: string): () => void {
    this.#savedNames.add(name)
    this.#savesInFlight.set(name, (this.#savesInFlight.get(name) ?? 0) + 1)
    this.#touch(name)
    return () => {
      const left = this.#savesInFlight.get(name)! - 1
      if (left > 0) this.#savesInFlight.set(name, left)
      else this.#savesInFlight.delete(name)
      this.#touch(name)
    }
  }

  #touch(name: string): void {
    for (const removal of this.#openRemovals) {
      if (removal.name === undefined || removal.name === name) removal.touched.add(name)
    }
  }

  /**
   * After a removeRange covering whole names: a name leaves the index only if no save of it was in
   * flight at any moment of the removal (such a save may have landed after the removal looked).
   */
  #forgetRemovedNames(removal: OpenRemoval): void {
    const names = removal.name !== undefined ? [removal.name] : [...this.#savedNames, ...(this.#listedNames ?? [])]
    for (const name of names) {
      if (removal.touched.has(name) || this.#savesInFlight.has(name)) continue
      this.#savedNames.delete(name)
      this.#listedNames?.delete(name)
    }
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

  async #writeAtomically(dir: string, file: string, bytes: Buffer): Promise<void> {
    const temp = `${file}.${process.pid}.${++this.#tempCounter}${TEMP_SUFFIX}`
    this.#inflightTemps.add(temp)
    try {
      const handle = await this.#openForWrite(dir, temp)
      try {
        await handle.writeFile(bytes)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await this.#renameWithRetry(temp, file)
      await this.#syncDir(dir)
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw error
    } finally {
      this.#inflightTemps.delete(temp)
    }
  }

  async #openForWrite(dir: string, temp: string) {
    // A directory we know is missing is made first rather than found missing by a failing open.
    if (await this.#isSurelyMissing(dir)) await this.#ensureDir(dir)
    for (let attempt = 0; ; attempt++) {
      const known = this.#knownDirs.get(dir)
      await known?.ready // one we (or a concurrent save) created counts once its parent's fsync is done
      let handle
      try {
        handle = await open(temp, 'wx', FILE_MODE)
      } catch (error) {
        // The directory may not exist yet, or removeRange may have pruned it a moment ago.
        if (errorCode(error) !== 'ENOENT' || attempt >= 3) throw error
        if (known && this.#knownDirs.get(dir) === known) this.#knownDirs.delete(dir)
        await this.#ensureDir(dir)
        continue
      }
      const now = this.#knownDirs.get(dir)
      if (!now) this.#knownDirs.set(dir, { ready: Promise.resolve(), createdHere: false })
      else if (now !== known) {
        // Created meanwhile by another save: its entry in the parent must be durable before we count on it.
        await now.ready.catch(async (error) => {
          await handle.close()
          throw error
        })
      }
      return handle
    }
  }

  /** True when `dir` cannot exist: a parent of it was created here and does not know it, or the index never saw its document. */
  async #isSurelyMissing(dir: string): Promise<boolean> {
    if (this.#knownDirs.has(dir) || dir === this.baseDir) return false
    const parentDir = dirname(dir)
    if (parentDir === this.baseDir && this.#listedNames && !this.#listedNames.has(basename(dir))) return true
    const parent = this.#knownDirs.get(parentDir)
    if (parent) {
      await parent.ready.catch(noop)
      return parent.createdHere && !this.#knownDirs.has(dir)
    }
    return parentDir !== this.baseDir && this.#isSurelyMissing(parentDir)
  }

  /**
   * mkdir -p that also fsyncs each parent whose entries it changed, so new directories are durable.
   * Remembered per directory: callers share one creation and later calls cost nothing. A directory
   * counts only once its parent's fsync is done, so no save is acknowledged inside a directory whose
   * own entry could still be lost.
   */
  #ensureDir(dir: string): Promise<void> {
    const known = this.#knownDirs.get(dir)
    if (known) return known.ready
    const entry: KnownDir = { ready: Promise.resolve(), createdHere: false }
    entry.ready = this.#makeDir(dir, entry)
    this.#knownDirs.set(dir, entry)
    entry.ready.catch(() => {
      if (this.#knownDirs.get(dir) === entry) this.#knownDirs.delete(dir)
    })
    return entry.ready
  }

  async #makeDir(dir: string, entry: KnownDir): Promise<void> {
    if (dir === this.baseDir) {
      // baseDir and above, once: mkdir -p without an error per missing level.
      const first = await mkdir(dir, { recursive: true, mode: DIR_MODE })
      if (first === undefined) return
      entry.createdHere = true
      const created: string[] = []
      for (let path = dir; ; path = dirname(path)) {
        created.push(path)
        if (path === first || dirname(path) === path) break
      }
      await Promise.all(created.map((path) => this.#syncDir(dirname(path))))
      return
    }
    const parentDir = dirname(dir)
    for (let attempt = 0; ; attempt++) {
      const parentReady = this.#ensureDir(parentDir) // top-down: the parent exists and is durable first
      const parent = this.#knownDirs.get(parentDir)
      await parentReady
      try {
        await mkdir(dir, DIR_MODE)
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return
        if (errorCode(error) !== 'ENOENT' || attempt >= 3) throw error
        // The parent was pruned after we last saw it: make it again.
        if (parent && this.#knownDirs.get(parentDir) === parent) this.#knownDirs.delete(parentDir)
        continue
      }
      entry.createdHere = true
      return this.#syncDir(parentDir)
    }
  }

  async #renameWithRetry(from: string, to: string): Promise<void> {
    // On Windows a reader holding the target open makes rename fail for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        return await rename(from, to)
      } catch (error) {
        const transient = ['EPERM', 'EACCES', 'EBUSY'].includes(errorCode(error) ?? '')
        if (!IS_WINDOWS || !transient || attempt >= 5) throw error
        await sleep(10 * 2 ** attempt)
      }
    }
  }

  /**
   * Group commit: one fsync serves every caller that arrived before it was issued (callers may join
   * while the directory is still being opened). A caller arriving later needs a later fsync (its
   * rename may have missed the running one): all such callers share exactly one follow-up.
   */
  #syncDir(dir: string): Promise<void> {
    if (!this.#syncDirectories) return Promise.resolve()
    this.stats.dirSyncRequests++
    let state = this.#dirSyncs.get(dir)
    if (!state) this.#dirSyncs.set(dir, (state = {}))
    if (state.joinable) return state.joinable
    const { running } = state
    if (!running) return this.#runDirSync(dir, state)
    const current = state
    return (current.queued ??= running.then(noop, noop).then(() => {
      current.queued = undefined
      return this.#runDirSync(dir, current)
    }))
  }

  #runDirSync(dir: string, state: DirSyncState): Promise<void> {
    const run: Promise<void> = this.#fsyncDir(dir, () => {
      if (state.joinable === run) state.joinable = undefined
    })
    state.running = state.joinable = run
    void run.then(noop, noop).then(() => {
      if (state.joinable === run) state.joinable = undefined
      if (state.running !== run) return
      state.running = undefined
      if (!state.queued && this.#dirSyncs.get(dir) === state) this.#dirSyncs.delete(dir)
    })
    return run
  }

  /** `issuing` is called just before the fsync is issued: callers arriving after it need the next one. */
  async #fsyncDir(dir: string, issuing: () => void): Promise<void> {
    this.stats.dirSyncs++
    let handle
    try {
      handle = await open(dir, 'r')
      issuing()
      await handle.sync()
    } catch (error) {
      // Some file systems refuse fsync on directories; the rename itself has still happened.
      const code = errorCode(error)
      if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF' && code !== 'ENOENT') throw error
    } finally {
      await handle?.close()
    }
  }

  async #unlinkIfPresent(file: string): Promise<boolean> {
    try {
      await unlink(file)
      return true
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw error
    }
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
          if (await this.#removeStaleTemp(path)) onTempRemoved?.()
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
        if (await this.#removeStaleTemp(join(dir, name))) onTempRemoved?.()
      } else if (name.endsWith(CORRUPT_SUFFIX)) await onOther?.(join(dir, name))
    }
    await walk(file.slice(0, -VALUE_SUFFIX.length))
  }

  async #removeStaleTemp(path: string): Promise<boolean> {
    if (this.#inflightTemps.has(path)) return false
    const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(path)?.[1])
    if (Number.isInteger(pid) && pid !== process.pid && processIsAlive(pid)) return false
    this.#log.debug(`storage: removing leftover temp file ${path}`)
    return this.#unlinkIfPresent(path).catch(() => false)
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
      const known = this.#knownDirs.get(dir)
      try {
        await rmdir(dir)
      } catch {
        return // ENOTEMPTY (a concurrent save landed) and ENOENT are fine: the directory stays or is gone.
      }
      if (this.#knownDirs.get(dir) === known) this.#knownDirs.delete(dir)
    }
    await prune(root)
  }
}
