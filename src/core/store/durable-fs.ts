// The durable file-system half of the document storage (store/storage.ts): atomic writes (temp file,
// fsync, rename, directory fsync), directories made durably (mkdir -p that fsyncs each changed
// parent, remembered per directory), group-committed directory fsyncs, and the temp-file bookkeeping
// that lets reads clean up what a crash left. It knows files and directories, not keys or values:
// storage.ts decides where a value lives and what its bytes are. Also here: writeReplacing, the
// lighter atomic replace (no fsync) for small metadata files of the data dir.
import { mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { Logger } from '../../shared/log'
import { sleep } from '../util/async'
import { processIsAlive } from '../util/process'

export const TEMP_SUFFIX = '.tmp'
/** Documents are private to the data dir's owner (see core/host/data-dir.ts). */
const DIR_MODE = 0o700
const FILE_MODE = 0o600
const IS_WINDOWS = process.platform === 'win32'

export const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code
const noop = () => {}

/** A directory this process made sure exists; `ready` settles once it exists (and is durable, if created here). */
interface KnownDir {
  ready: Promise<void>
  /** Created by this process: then every entry in it is ours, and a child it does not know is missing. */
  createdHere: boolean
}

/** Per directory: the fsync running (joinable until it is issued) and the one follow-up queued behind it. */
interface DirSyncState {
  running?: Promise<void>
  joinable?: Promise<void>
  queued?: Promise<void>
}

/** What the durable layer did, counted into the storage's stats. */
export interface DurableStats {
  dirSyncRequests: number
  dirSyncs: number
}

export interface DurableDirOptions {
  log: Logger
  stats: DurableStats
  /** fsync directories after renames, unlinks and mkdirs (false on Windows, where it is not possible). */
  syncDirectories: boolean
  /** True when a first-level entry of baseDir surely does not exist (the storage's index of names). */
  indexSaysMissing: (name: string) => boolean
}

/** The directory tree under `baseDir`, written durably. One instance per storage (it remembers directories). */
export class DurableDir {
  readonly #knownDirs = new Map<string, KnownDir>()
  readonly #dirSyncs = new Map<string, DirSyncState>()
  /** Temp files this process is writing right now; never cleaned up from under a writer. */
  readonly #inflightTemps = new Set<string>()
  #tempCounter = 0
  private readonly log: Logger
  private readonly stats: DurableStats
  private readonly syncDirectories: boolean
  private readonly indexSaysMissing: (name: string) => boolean

  constructor(
    readonly baseDir: string,
    options: DurableDirOptions,
  ) {
    this.log = options.log
    this.stats = options.stats
    this.syncDirectories = options.syncDirectories && !IS_WINDOWS
    this.indexSaysMissing = options.indexSaysMissing
  }

  /** After a directory was removed (pruned): the next write into it makes it again. */
  forget(dir: string, ifStill?: KnownDir | undefined): void {
    if (ifStill === undefined || this.#knownDirs.get(dir) === ifStill) this.#knownDirs.delete(dir)
  }

  /** The remembered entry of `dir` (to forget it only if nobody made it again meanwhile). */
  known(dir: string): KnownDir | undefined {
    return this.#knownDirs.get(dir)
  }

  /**
   * Writes `file` whole (temp file, rename). `durable` (the default) also fsyncs the file and the
   * directory; without it the value may be lost or older after a power cut, never torn.
   */
  async writeAtomically(dir: string, file: string, bytes: Buffer, durable = true): Promise<void> {
    const temp = `${file}.${process.pid}.${++this.#tempCounter}${TEMP_SUFFIX}`
    this.#inflightTemps.add(temp)
    try {
      const handle = await this.#openForWrite(dir, temp)
      try {
        await handle.writeFile(bytes)
        if (durable) await handle.sync()
      } finally {
        await handle.close()
      }
      await this.#renameWithRetry(temp, file)
      if (durable) await this.syncDir(dir)
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw error
    } finally {
      this.#inflightTemps.delete(temp)
    }
  }

  async #openForWrite(dir: string, temp: string) {
    // A directory we know is missing is made first rather than found missing by a failing open.
    if (await this.#isSurelyMissing(dir)) await this.ensureDir(dir)
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
        await this.ensureDir(dir)
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
    if (parentDir === this.baseDir && this.indexSaysMissing(basename(dir))) return true
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
  ensureDir(dir: string): Promise<void> {
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
      await Promise.all(created.map((path) => this.syncDir(dirname(path))))
      return
    }
    const parentDir = dirname(dir)
    for (let attempt = 0; ; attempt++) {
      const parentReady = this.ensureDir(parentDir) // top-down: the parent exists and is durable first
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
      return this.syncDir(parentDir)
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
  syncDir(dir: string): Promise<void> {
    if (!this.syncDirectories) return Promise.resolve()
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

  async unlinkIfPresent(file: string): Promise<boolean> {
    try {
      await unlink(file)
      return true
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw error
    }
  }

  async removeStaleTemp(path: string): Promise<boolean> {
    if (this.#inflightTemps.has(path)) return false
    const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(path)?.[1])
    if (Number.isInteger(pid) && pid !== process.pid && processIsAlive(pid)) return false
    this.log.debug(`storage: removing leftover temp file ${path}`)
    return this.unlinkIfPresent(path).catch(() => false)
  }

}

/**
 * Replaces a file whole: write a temp file beside it, then rename over it, so a reader (or a crash) sees
 * the old content or the new, never half of it. Small metadata and outputs only: no fsync (documents
 * go through DurableDir). `mode` applies to a new file (the umask may only remove bits); data-dir
 * files pass 0o600.
 */
export async function writeReplacing(path: string, data: string | Uint8Array, mode = 0o666): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  // A temp file left by a crash keeps its old mode: start from a new one.
  await rm(tmp, { force: true })
  await writeFile(tmp, data, { mode })
  await rename(tmp, path)
}

export const writeJsonReplacing = (path: string, value: unknown, mode?: number): Promise<void> =>
  writeReplacing(path, JSON.stringify(value, null, 2) + '\n', mode)
