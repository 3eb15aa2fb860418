// Storage values that are a cache, written behind. automerge-repo's sync state per peer and document
// (`[documentId, 'sync-state', storageId]`) only shortens the next sync with that peer; lost or older,
// the sync takes a message more. automerge-repo saves one after every change for every linked peer (5
// per change at a peer of 5 links), each fsynced by a durable write: here they wait in memory (the
// latest per key) and go to disk every CACHE_WRITE_MS and on flush, whole but not fsynced.
import type { StorageKey } from '@automerge/automerge-repo/slim'
import { hasPrefix } from './key-encoding'

export const isCache = (key: StorageKey) => key.length === 3 && key[1] === 'sync-state'
export const CACHE_WRITE_MS = 5_000

/** A cache value waiting to be written, with where it goes. */
export interface Waiting {
  key: StorageKey
  data: Uint8Array
  seq: bigint
  dir: string
  file: string
  name: string
}

export class WriteBehind {
  /** By file: the latest value of each key. */
  private readonly waiting = new Map<string, Waiting>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    /** Writes values taken from the queue; its failures are its own to report. */
    private readonly write: (due: Waiting[]) => Promise<void>,
  ) {}

  put(value: Waiting): void {
    this.waiting.set(value.file, value)
    this.timer ??= setTimeout(() => void this.flush(), CACHE_WRITE_MS)
    this.timer.unref?.()
  }

  get(file: string): Waiting | undefined {
    return this.waiting.get(file)
  }

  drop(file: string): void {
    this.waiting.delete(file)
  }

  dropRange(prefix: StorageKey): void {
    for (const [file, w] of this.waiting) if (hasPrefix(w.key, prefix)) this.waiting.delete(file)
  }

  inRange(prefix: StorageKey): Waiting[] {
    return [...this.waiting.values()].filter((w) => hasPrefix(w.key, prefix))
  }

  /** Writes everything waiting now. */
  async flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const due = [...this.waiting.values()]
    this.waiting.clear()
    if (due.length) await this.write(due)
  }
}
