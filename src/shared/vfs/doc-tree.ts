// A keepsync-style path API over the directory tree of directory.ts: `/a/b/c` names a document by
// walking directory documents from the bundle's root. Paths are what apps and the Documents view use;
// URLs are what peers sync.
//
// Crash consistency: a new document (or directory) is flushed to storage before the entry pointing
// at it is added to its parent, so a crash never leaves a local entry pointing at nothing.
//
// Concurrency between peers: `children` is an Automerge map, so when two peers create the same name
// at the same time (say both `mkDir('/notes')`), each creates its own document and the map keeps one
// entry: last writer wins, on every peer alike. The losing document stays in storage but is no
// longer reachable by path; anything written into it before the merge is not visible under the path.
// For documents (writeDoc of a new path on two peers) that means one peer's initial content wins.
// Writes to an existing path go into the existing document and merge normally.
import {
  Automerge,
  type AutomergeUrl,
  type DocHandle,
  type DocHandleChangePayload,
  type Repo,
} from '@automerge/automerge-repo/slim'
import { flushReady } from '../flush'
import type { DirectoryDoc, DirEntry, Timestamps } from './shapes'
import { noopLogger, type Logger } from '../log'

export type DocPathErrorCode = 'INVALID_PATH' | 'NOT_FOUND' | 'NOT_A_DIRECTORY' | 'NOT_A_DOCUMENT' | 'UNAVAILABLE'

export class DocPathError extends Error {
  constructor(
    readonly code: DocPathErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${message}: ${path}`)
    this.name = 'DocPathError'
  }
}

/** Documents whose content is a JSON-like object (Automerge roots are always maps). */
export type DocContent = Record<string, unknown>

export interface DirListing {
  name: string
  type: 'doc' | 'dir'
  url: AutomergeUrl
  timestamps: Timestamps
}

export interface WalkEntry {
  path: string
  type: 'doc' | 'dir'
  url: AutomergeUrl
  timestamps: Timestamps
}

export interface DocTreeOptions {
  logger?: Logger
  /** Clock for timestamps (ms since epoch). */
  now?: () => number
  /** How long a lookup waits for a document that must come from a peer (default 10 s). */
  findTimeoutMs?: number
}

const MAX_SEGMENT_LENGTH = 255

/**
 * Validates a path and returns its segments (`/` → []). Rules: a string starting with `/`; segments
 * separated by single `/`; no empty, `.` or `..` segments, no NUL or other control characters, at most
 * 255 characters each. One trailing `/` is accepted and ignored (`/a/` is `/a`).
 */
export function parseDocPath(path: unknown): string[] {
  if (typeof path !== 'string') throw new DocPathError('INVALID_PATH', String(path), 'path must be a string')
  if (!path.startsWith('/')) throw new DocPathError('INVALID_PATH', path, 'path must start with "/"')
  if (path === '/') return []
  const body = path.endsWith('/') ? path.slice(1, -1) : path.slice(1)
  const segments = body.split('/')
  for (const segment of segments) {
    if (segment === '') throw new DocPathError('INVALID_PATH', path, 'path has an empty segment')
    if (segment === '.' || segment === '..') throw new DocPathError('INVALID_PATH', path, `path has a "${segment}" segment`)
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(segment)) throw new DocPathError('INVALID_PATH', path, 'path has a control character')
    if (segment.length > MAX_SEGMENT_LENGTH) throw new DocPathError('INVALID_PATH', path, 'path segment longer than 255 characters')
  }
  return segments
}

/** The canonical spelling of a path (`/a/b/` → `/a/b`). */
export function normalizeDocPath(path: string): string {
  return '/' + parseDocPath(path).join('/')
}

const joinPath = (segments: string[]) => '/' + segments.join('/')

function isPlainObject(value: unknown): value is DocContent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Makes `doc` hold exactly `value`'s top-level keys (nested values are replaced wholesale). */
function replaceContent(doc: DocContent, value: DocContent): void {
  for (const key of Object.keys(doc)) if (!(key in value)) delete doc[key]
  for (const [key, v] of Object.entries(value)) if (v !== undefined) doc[key] = v
}

/** Directory entries' modified time is coarse so frequent edits of a document don't churn its parent. */
const MODIFIED_RESOLUTION_MS = 1000

export class DocTree {
  readonly #repo: Repo
  readonly #root: DocHandle<DirectoryDoc>
  readonly #log: Logger
  readonly #now: () => number
  readonly #findTimeoutMs: number

  constructor(repo: Repo, root: DocHandle<DirectoryDoc>, options: DocTreeOptions = {}) {
    this.#repo = repo
    this.#root = root
    this.#log = options.logger ?? noopLogger
    this.#now = options.now ?? Date.now
    this.#findTimeoutMs = options.findTimeoutMs ?? 10_000
  }

  get rootUrl(): AutomergeUrl {
    return this.#root.url
  }

  /** The url of the document or directory at `path`, or undefined when nothing is there. */
  async resolve(path: string): Promise<AutomergeUrl | undefined> {
    const segments = parseDocPath(path)
    if (segments.length === 0) return this.#root.url
    const parent = await this.#findDir(segments.slice(0, -1), path)
    return parent?.doc().children[segments[segments.length - 1]!]?.pointer
  }

  /** The content of the document at `path` (an immutable Automerge snapshot), or undefined. */
  async readDoc<T = DocContent>(path: string): Promise<T | undefined> {
    const entry = await this.#entryAt(parseDocPath(path), path)
    if (!entry) return undefined
    if (entry.type !== 'doc') throw new DocPathError('NOT_A_DOCUMENT', path, 'is a directory')
    return (await this.#find<T>(entry.pointer, path)).doc()
  }

  /** Creates the document at `path` (and missing parent directories) or replaces its content. */
  async writeDoc<T extends object = DocContent>(path: string, value: T): Promise<AutomergeUrl> {
    if (!isPlainObject(value)) throw new TypeError('document content must be a plain object')
    const segments = this.#fileSegments(path)
    const name = segments[segments.length - 1]!
    const parent = await this.#ensureDir(segments.slice(0, -1), path)
    const existing = parent.doc().children[name]
    if (existing) return this.#replaceExisting(parent, name, existing, value as DocContent, path)

    // Flush the new document before linking it (see the header).
    const created = this.#repo.create<DocContent>(structuredClone(value) as DocContent)
    await this.#repo.flush([created.documentId])
    const winner = this.#link(parent, name, 'doc', created.url)
    if (winner.pointer === created.url) return created.url
    // Someone linked the name while we flushed: write into theirs, drop ours.
    this.#repo.delete(created.documentId)
    return this.#replaceExisting(parent, name, winner, value as DocContent, path)
  }

  /** Applies `fn` to the document at `path` in one Automerge change. Throws NOT_FOUND when absent. */
  async changeDoc<T = DocContent>(path: string, fn: (doc: T) => void): Promise<AutomergeUrl> {
    const segments = this.#fileSegments(path)
    const parent = await this.#findDir(segments.slice(0, -1), path)
    const name = segments[segments.length - 1]!
    const entry = parent?.doc().children[name]
    if (!parent || !entry) throw new DocPathError('NOT_FOUND', path, 'no document')
    if (entry.type !== 'doc') throw new DocPathError('NOT_A_DOCUMENT', path, 'is a directory')
    const handle = await this.#find<T>(entry.pointer, path)
    handle.change((doc) => fn(doc as T))
    this.#touch(parent, name, entry.pointer)
    return entry.pointer
  }

  /** The entries of the directory at `path`, sorted by name. */
  async ls(path: string): Promise<DirListing[]> {
    const dir = await this.#findDir(parseDocPath(path), path)
    if (!dir) throw new DocPathError('NOT_FOUND', path, 'no directory')
    return Object.entries(dir.doc().children)
      .map(([name, e]) => ({ name, type: e.type, url: e.pointer, timestamps: { ...e.timestamps } }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Creates the directory at `path` and its parents; returns its url (existing directories are kept). */
  async mkDir(path: string): Promise<AutomergeUrl> {
    return (await this.#ensureDir(parseDocPath(path), path)).url
  }

  /**
   * Removes the entry at `path` from its directory; returns whether there was one. The documents it
   * pointed at stay in storage (other peers or old links may still use them).
   */
  async rm(path: string): Promise<boolean> {
    const segments = this.#fileSegments(path)
    const parent = await this.#findDir(segments.slice(0, -1), path)
    const name = segments[segments.length - 1]!
    if (!parent?.doc().children[name]) return false
    const now = this.#now()
    parent.change((d) => {
      delete d.children[name]
      d.timestamps.modified = now
    })
    return true
  }

  /**
   * Calls `cb` with the document's content now and on every change, with undefined while nothing is
   * at `path`; follows the path as directories along it change (created later, replaced, removed).
   * Returns an unsubscribe function.
   */
  listen<T = DocContent>(path: string, cb: (value: T | undefined, url: AutomergeUrl | undefined) => void): () => void {
    const segments = this.#fileSegments(path)
    const dirSubscriptions = new Map<AutomergeUrl, () => void>()
    let target: { url: AutomergeUrl; off: () => void } | undefined
    let closed = false
    let running = false
    let again = false
    let retryTimer: NodeJS.Timeout | undefined
    let retryDelay = 500
    let lastUrl: AutomergeUrl | undefined | null = null // null: nothing reported yet

    const report = (value: T | undefined, url: AutomergeUrl | undefined) => {
      if (closed) return
      lastUrl = url
      try {
        cb(value, url)
      } catch (error) {
        this.#log.warn(`docs: listener for ${path} threw: ${String(error)}`)
      }
    }
    const subscribe = <D>(handle: DocHandle<D>, fn: (payload: DocHandleChangePayload<D>) => void) => {
      handle.on('change', fn)
      return () => void handle.off('change', fn)
    }

    const refresh = async (): Promise<void> => {
      if (closed) return
      if (running) {
        again = true
        return
      }
      running = true
      try {
        do {
          again = false
          await resolveOnce()
        } while (again && !closed)
      } finally {
        running = false
      }
    }

    const resolveOnce = async () => {
      const needed = new Set<AutomergeUrl>()
      let entry: DirEntry | undefined
      let unavailable = false
      try {
        let dir = this.#root
        needed.add(dir.url)
        watchDir(dir)
        for (const [i, segment] of segments.entries()) {
          entry = dir.doc().children[segment]
          if (i === segments.length - 1 || !entry) break
          if (entry.type !== 'dir') {
            entry = undefined
            break
          }
          dir = await this.#find<DirectoryDoc>(entry.pointer, path)
          needed.add(dir.url)
          watchDir(dir)
        }
      } catch (error) {
        unavailable = true
        entry = undefined
        this.#log.debug(`docs: listen ${path}: ${String(error)}`)
      }
      for (const [url, off] of dirSubscriptions) {
        if (!needed.has(url)) {
          off()
          dirSubscriptions.delete(url)
        }
      }
      const url = entry?.type === 'doc' ? entry.pointer : undefined
      if (url !== target?.url) {
        target?.off()
        target = undefined
        if (url) {
          try {
            const handle = await this.#find<T>(url, path)
            if (closed) return
            target = { url, off: subscribe(handle, ({ doc }) => report(doc as T, url)) }
            report(handle.doc(), url)
          } catch (error) {
            unavailable = true
            this.#log.debug(`docs: listen ${path}: ${String(error)}`)
          }
        }
      }
      if (!target && lastUrl !== undefined) report(undefined, undefined)
      // A document or directory that peers have not sent yet: look again later.
      if (unavailable && !closed && !retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined
          void refresh()
        }, retryDelay)
        retryTimer.unref?.()
        retryDelay = Math.min(retryDelay * 2, 30_000)
      } else if (!unavailable) retryDelay = 500
    }

    const watchDir = (dir: DocHandle<DirectoryDoc>) => {
      if (!dirSubscriptions.has(dir.url)) dirSubscriptions.set(dir.url, subscribe(dir, () => void refresh()))
    }

    void refresh()
    return () => {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      for (const off of dirSubscriptions.values()) off()
      dirSubscriptions.clear()
      target?.off()
      target = undefined
    }
  }

  /**
   * Resolves once every document change made so far is on disk (automerge-repo saves on a throttle;
   * see storage.ts for what "acknowledged" means).
   */
  async flush(): Promise<void> {
    await flushReady(this.#repo)
  }

  /** Every path below the root (directories before their contents), depth first, sorted by name. */
  async walk(): Promise<WalkEntry[]> {
    const out: WalkEntry[] = []
    const visited = new Set<AutomergeUrl>([this.#root.url])
    const visit = async (dir: DocHandle<DirectoryDoc>, prefix: string[]) => {
      const names = Object.keys(dir.doc().children).sort()
      for (const name of names) {
        const entry = dir.doc().children[name]
        if (!entry) continue
        const segments = [...prefix, name]
        out.push({ path: joinPath(segments), type: entry.type, url: entry.pointer, timestamps: { ...entry.timestamps } })
        if (entry.type !== 'dir') continue
        if (visited.has(entry.pointer)) {
          this.#log.warn(`docs: walk: ${joinPath(segments)} points back at a directory already visited`)
          continue
        }
        visited.add(entry.pointer)
        try {
          await visit(await this.#find<DirectoryDoc>(entry.pointer, joinPath(segments)), segments)
        } catch (error) {
          this.#log.warn(`docs: walk: skipping ${joinPath(segments)}: ${String(error)}`)
        }
      }
    }
    await visit(this.#root, [])
    return out
  }

  // -- internals ----------------------------------------------------------------------------------

  /** Segments of a path that must name something below the root. */
  #fileSegments(path: string): string[] {
    const segments = parseDocPath(path)
    if (segments.length === 0) throw new DocPathError('INVALID_PATH', path, 'the root directory is not a document')
    return segments
  }

  async #find<T>(url: AutomergeUrl, path: string): Promise<DocHandle<T>> {
    try {
      return await this.#repo.find<T>(url, { signal: AbortSignal.timeout(this.#findTimeoutMs) })
    } catch (error) {
      throw new DocPathError('UNAVAILABLE', path, `document ${url} is unavailable (${String(error)})`)
    }
  }

  /** The directory handle at `segments`, undefined when some part is missing. */
  async #findDir(segments: string[], path: string): Promise<DocHandle<DirectoryDoc> | undefined> {
    let dir = this.#root
    for (const segment of segments) {
      const entry = dir.doc().children[segment]
      if (!entry) return undefined
      if (entry.type !== 'dir') throw new DocPathError('NOT_A_DIRECTORY', path, `"${segment}" is a document`)
      dir = await this.#find<DirectoryDoc>(entry.pointer, path)
    }
    return dir
  }

  async #entryAt(segments: string[], path: string): Promise<DirEntry | undefined> {
    if (segments.length === 0) throw new DocPathError('NOT_A_DOCUMENT', path, 'is the root directory')
    const parent = await this.#findDir(segments.slice(0, -1), path)
    return parent?.doc().children[segments[segments.length - 1]!]
  }

  async #ensureDir(segments: string[], path: string): Promise<DocHandle<DirectoryDoc>> {
    let dir = this.#root
    for (const segment of segments) {
      let entry = dir.doc().children[segment]
      if (!entry) {
        const now = this.#now()
        const created = this.#repo.create<DirectoryDoc>({
          type: 'dir',
          name: segment,
          timestamps: { created: now, modified: now },
          children: {},
        })
        await this.#repo.flush([created.documentId])
        entry = this.#link(dir, segment, 'dir', created.url)
        if (entry.pointer !== created.url) this.#repo.delete(created.documentId)
      }
      if (entry.type !== 'dir') throw new DocPathError('NOT_A_DIRECTORY', path, `"${segment}" is a document`)
      dir = await this.#find<DirectoryDoc>(entry.pointer, path)
    }
    return dir
  }

  /** Adds `name` → `url` unless the name exists by now; returns the entry that is there afterwards. */
  #link(dir: DocHandle<DirectoryDoc>, name: string, type: DirEntry['type'], url: AutomergeUrl): DirEntry {
    const now = this.#now()
    dir.change((d) => {
      if (d.children[name]) return
      d.children[name] = { type, pointer: url, timestamps: { created: now, modified: now } }
      d.timestamps.modified = now
    })
    return dir.doc().children[name]!
  }

  async #replaceExisting(
    parent: DocHandle<DirectoryDoc>,
    name: string,
    entry: DirEntry,
    value: DocContent,
    path: string,
  ): Promise<AutomergeUrl> {
    if (entry.type !== 'doc') throw new DocPathError('NOT_A_DOCUMENT', path, 'is a directory')
    const handle = await this.#find<DocContent>(entry.pointer, path)
    handle.change((doc) => replaceContent(doc, structuredClone(value)))
    this.#touch(parent, name, entry.pointer)
    return entry.pointer
  }

  /** Bumps an entry's modified time (coarsely), if it still points at `url`. */
  #touch(parent: DocHandle<DirectoryDoc>, name: string, url: AutomergeUrl): void {
    const now = this.#now()
    const entry = parent.doc().children[name]
    if (!entry || entry.pointer !== url || now - entry.timestamps.modified < MODIFIED_RESOLUTION_MS) return
    parent.change((d) => {
      const e = d.children[name]
      if (e && e.pointer === url) e.timestamps.modified = now
    })
  }
}

/** For tests and tools: every value of a directory entry written concurrently (winner included), [] if none. */
export function entryConflicts(dir: DirectoryDoc, name: string): DirEntry[] {
  const conflicts = Automerge.getConflicts(dir.children, name)
  return conflicts ? (Object.values(conflicts) as unknown as DirEntry[]) : []
}
