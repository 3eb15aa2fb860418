// The storage's index of names: which first key components (for documents: their ids) may hold data,
// so a load of a document this peer does not hold costs no disk access. One listing of `baseDir` at
// first use, kept current by the adapter's own saves and removes. It errs only towards "present"
// (costing a probe), never hiding a value, and relies on one writer per directory (values written by
// another process after the listing are not seen).
import { readdir } from 'node:fs/promises'
import type { Logger } from '../../shared/log'
import { errorCode } from './durable-fs'

/** A removeRange covering one name (or all): saves of a covered name during it keep the name indexed. */
interface OpenRemoval {
  name: string | undefined
  touched: Set<string>
}

export interface NameIndexStats {
  /** Listings of baseDir made to build the index (one, unless a listing failed). */
  listings: number
  /** Loads and ranges answered from the index without touching the disk. */
  indexMisses: number
}

export class NameIndex {
  // A name may hold data iff it is in one of these sets. Undefined until baseDir is listed.
  #listedNames: Set<string> | undefined
  #listing: Promise<boolean> | undefined
  /** Names saved under since the adapter started (dropped only by a removeRange that covered them). */
  readonly #savedNames = new Set<string>()
  readonly #savesInFlight = new Map<string, number>()
  readonly #openRemovals = new Set<OpenRemoval>()

  constructor(
    private readonly baseDir: string,
    private readonly log: Logger,
    private readonly stats: NameIndexStats,
  ) {}

  /** False only when nothing stored can start with `name`: then no disk access is needed. */
  async mayHold(name: string): Promise<boolean> {
    if (this.#savedNames.has(name) || this.#listedNames?.has(name)) return true
    if (!this.#listedNames) {
      // First use: list baseDir once. If that fails we are unsure: ask the disk.
      if (!(await (this.#listing ??= this.#listBaseDir()))) return true
      if (this.#savedNames.has(name) || this.#listedNames!.has(name)) return true
    }
    this.stats.indexMisses++
    return false
  }

  /** mayHold without waiting: true while the index is not built yet. */
  mayHoldNow(name: string): boolean {
    if (this.#savedNames.has(name)) return true
    return this.#listedNames ? this.#listedNames.has(name) : true
  }

  /** True when the listing was made and did not see `name` (a directory for it may still be made since). */
  surelyMissing(name: string): boolean {
    return this.#listedNames !== undefined && !this.#listedNames.has(name)
  }

  async #listBaseDir(): Promise<boolean> {
    this.stats.listings++
    let entries: string[] = []
    try {
      entries = await readdir(this.baseDir)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.log.warn(`storage: cannot list ${this.baseDir}, reading without an index: ${String(error)}`)
        this.#listing = undefined // try again next time
        return false
      }
    }
    // `k0` (a directory), `k0.v` and its temp/corrupt siblings: encoded components hold no '.'.
    this.#listedNames = new Set(entries.map((entry) => entry.split('.')[0]!))
    return true
  }

  /** Indexes `name` before anything is written and records the save for removals. Returns its "done". */
  noteSaveStarted(name: string): () => void {
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

  /** Runs a removal of every value under `name` (undefined: all), then drops the names it emptied. */
  async whileRemoving(name: string | undefined, remove: () => Promise<void>): Promise<void> {
    const removal: OpenRemoval = { name, touched: new Set() }
    this.#openRemovals.add(removal)
    try {
      await remove()
      this.#forgetRemovedNames(removal)
    } finally {
      this.#openRemovals.delete(removal)
    }
  }

  #touch(name: string): void {
    for (const removal of this.#openRemovals) {
      if (removal.name === undefined || removal.name === name) removal.touched.add(name)
    }
  }

  /**
   * After a removal covering whole names: a name leaves the index only if no save of it was in flight
   * at any moment of the removal (such a save may have landed after the removal looked).
   */
  #forgetRemovedNames(removal: OpenRemoval): void {
    const names = removal.name !== undefined ? [removal.name] : [...this.#savedNames, ...(this.#listedNames ?? [])]
    for (const name of names) {
      if (removal.touched.has(name) || this.#savesInFlight.has(name)) continue
      this.#savedNames.delete(name)
      this.#listedNames?.delete(name)
    }
  }
}
