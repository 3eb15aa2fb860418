// The Automerge actors this peer writes with. automerge-repo gives a document a new random actor each
// time it is loaded, so "which changes are mine" cannot be read off one id: every actor that made a
// local change here is kept, in `<dataDir>/actors.json`, so the history names them "you" after a
// restart too, and peers can ask whether an actor is ours (protocols/actors). Bounded: the most recent
// MAX_OWN_ACTORS, written at most every WRITE_DELAY_MS.
import { readFile } from 'node:fs/promises'
import { ACTOR_ID } from '../../shared/actor-id'
import { writeJsonReplacing } from '../store/durable-fs'

export const MAX_OWN_ACTORS = 4096
const WRITE_DELAY_MS = 2_000

export class OwnActors {
  /** Insertion order = recency (a re-recorded actor moves to the end). */
  private readonly actors = new Set<string>()
  private timer?: NodeJS.Timeout
  private writing: Promise<void> = Promise.resolve()

  constructor(
    /** actors.json in the data dir; undefined keeps them in memory only (tests, ephemeral sessions). */
    private readonly file: string | undefined,
  ) {}

  /** Reads what earlier runs kept (a missing or unreadable file is an empty list). */
  async load(): Promise<void> {
    if (!this.file) return
    try {
      const list = JSON.parse(await readFile(this.file, 'utf8')) as unknown
      if (Array.isArray(list)) for (const a of list.slice(-MAX_OWN_ACTORS)) if (typeof a === 'string' && ACTOR_ID.test(a)) this.actors.add(a)
    } catch {
      // first run, or a damaged file: start empty (it only names changes)
    }
  }

  has(actor: string): boolean {
    return this.actors.has(actor)
  }

  get size(): number {
    return this.actors.size
  }

  /** An actor made a change here. */
  record(actor: string): void {
    if (!ACTOR_ID.test(actor)) return
    if (this.actors.has(actor)) return
    this.actors.add(actor)
    if (this.actors.size > MAX_OWN_ACTORS) this.actors.delete(this.actors.values().next().value!)
    this.scheduleWrite()
  }

  private scheduleWrite(): void {
    if (!this.file || this.timer) return
    this.timer = setTimeout(() => void this.flush(), WRITE_DELAY_MS)
    this.timer.unref?.()
  }

  /** Writes the list now (also on stop). */
  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const file = this.file
    if (!file) return this.writing
    const list = [...this.actors]
    this.writing = this.writing.then(() => writeJsonReplacing(file, list, 0o600)).catch(() => {})
    return this.writing
  }
}
