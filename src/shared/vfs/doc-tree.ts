// The path API over Tonk's virtual file system (shapes.ts): `/a/b/c` names a document through the
// root's PathIndex, exactly as tonk-core's VirtualFileSystem does (packages/core/src/vfs/filesystem.rs),
// so what we write Tonk reads and the reverse. Paths are what apps and the Documents view use; URLs are
// what peers sync.
//
// As in Tonk, the PathIndex (`entries`, flat, keyed by absolute path) is the source of truth: lookups,
// listings and listeners read only the root. The DirNode `children` lists are kept in step on every
// write (Tonk's add_to_parent / remove_from_parent), for Tonk's own tools that read them.
//
// Crash consistency: a new document (or directory) is flushed to storage before the index entry
// pointing at it is added, so a crash never leaves a local entry pointing at nothing.
//
// Concurrency between peers: when two peers create the same path at the same time, each makes its own
// document and puts its own entry object under the same key of `entries`. Automerge keeps one of them
// visible on every peer alike (the op with the greater id: counter, then actor), and so does Tonk's Rust
// reader, which reads the same winner: that is our rule too, so Tonk and we always agree on which
// document a path names. Repair on write: a write to that path replaces the conflicting entries by a
// copy of the winner, and the parent DirNode's children list is made to match the index (one RefNode
// per name, pointing at the winner). Because the index is flat, files that two peers created inside
// "the same" new directory all stay visible, whichever directory document wins. A losing document
// stays in storage but is not reachable by path: for a file created on two peers at once, one peer's
// initial content wins. Writes to an existing path go into the existing document and merge normally.
//
// Over ~400 lines: every operation reads and writes one index and keeps the DirNode lists and the
// conflict repair in step with it; split apart, each half would need the other's internals. What
// stands alone is elsewhere: the shapes (shapes.ts), value conversion (values.ts), Tonk's API names
// over this class (tonk-api.ts).
import {
  Automerge,
  type AutomergeUrl,
  type DocHandle,
  type DocHandleChangePayload,
  type Repo,
} from '@automerge/automerge-repo/slim'
import { flushReady } from '../flush'
import type { DirNode, DocNode, NodeType, PathEntry, RefNode, RootDoc, Timestamps } from './shapes'
import { contentOf, isRecord, millis, scalar, text, toPlain } from './values'
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

/** Entry and document times are coarse so frequent edits of a document don't churn the root. */
const MODIFIED_RESOLUTION_MS = 1000

/** One PathIndex entry as read (strings whichever way they were stored). */
export interface IndexEntry {
  path: string
  type: NodeType
  docId: string
  created: number
  modified: number
}

/** A file as Tonk's readFile returns it: the DocNode, content unwrapped, bytes when it has them. */
export interface VfsDocument<T = unknown> {
  type: 'document'
  name: string
  timestamps: Timestamps
  content: T
  bytes?: Uint8Array
}

const urlOf = (docId: string) => `automerge:${docId}` as AutomergeUrl
const listingType = (type: NodeType): 'doc' | 'dir' => (type === 'directory' ? 'dir' : 'doc')
const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/'
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1)
const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Path order with directories before their contents: by segment, not by character ("/a/b" < "/a-b"). */
function comparePaths(a: string, b: string): number {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return compareNames(x[i]!, y[i]!)
  return x.length - y.length
}

function readEntry(path: string, raw: unknown): IndexEntry | undefined {
  if (!isRecord(raw)) return undefined
  const docId = text(raw.doc_id)
  // The older JSON-string index calls the type "type"; the native index "node_type".
  const type = text(raw.node_type) ?? text(raw.type)
  if (!docId || (type !== 'document' && type !== 'directory')) return undefined
  return { path, type, docId, created: millis(raw.created), modified: millis(raw.modified) }
}

/**
 * The root's raw index entries: the native `entries` map (Tonk since November 2025), else the older
 * `path_index` JSON string ({paths: {path: {doc_id, type, created, modified}}}), read only.
 */
function rawEntries(root: unknown): Record<string, unknown> {
  if (!isRecord(root)) return {}
  if (isRecord(root.entries)) return root.entries
  const legacy = text(root.path_index)
  if (legacy === undefined) return {}
  // Parsed once per state of the root (an Automerge document is immutable: a change makes a new object).
  let paths = legacyPaths.get(root)
  if (!paths) {
    try {
      const parsed = JSON.parse(legacy) as unknown
      paths = isRecord(parsed) && isRecord(parsed.paths) ? parsed.paths : {}
    } catch {
      paths = {}
    }
    legacyPaths.set(root, paths)
  }
  return paths
}
const legacyPaths = new WeakMap<object, Record<string, unknown>>()
/** Every valid entry, per state of the root (listings and repairs read it often). */
const allEntriesOf = new WeakMap<object, IndexEntry[]>()

const newEntry = (docId: string, type: NodeType, created: number, modified: number): PathEntry => ({
  doc_id: scalar(docId),
  node_type: scalar(type) as NodeType,
  created,
  modified,
})

/**
 * Makes the root's `entries` map exist before a write: a root in the older layout gets the entries of
 * its JSON index (the JSON string is left for old readers); a typeless root becomes a PathIndex.
 */
function ensureEntries(d: RootDoc, now: number): Record<string, PathEntry> {
  if (isRecord(d.entries)) return d.entries
  const legacy = rawEntries(d)
  d.entries = {}
  for (const [path, raw] of Object.entries(legacy)) {
    const e = readEntry(path, raw)
    if (e) d.entries[path] = newEntry(e.docId, e.type, e.created, e.modified)
  }
  const doc = d as unknown as Record<string, unknown>
  if (doc.type === undefined) doc.type = scalar('path_index')
  if (doc.version === undefined) doc.version = 2
  d.last_updated = now
  return d.entries
}

export class DocTree {
  readonly #repo: Repo
  readonly #root: DocHandle<RootDoc>
  readonly #log: Logger
  readonly #now: () => number
  readonly #findTimeoutMs: number

  constructor(repo: Repo, root: DocHandle<RootDoc>, options: DocTreeOptions = {}) {
    this.#repo = repo
    this.#root = root
    this.#log = options.logger ?? noopLogger
    this.#now = options.now ?? Date.now
    this.#findTimeoutMs = options.findTimeoutMs ?? 10_000
  }

  get rootUrl(): AutomergeUrl {
    return this.#root.url
  }

  /** The PathIndex entry at `path` (the root has none), or undefined. */
  entry(path: string): IndexEntry | undefined {
    const key = normalizeDocPath(path)
    return key === '/' ? undefined : readEntry(key, rawEntries(this.#root.doc())[key])
  }

  /** The url of the document or directory at `path`, or undefined when nothing is there. */
  async resolve(path: string): Promise<AutomergeUrl | undefined> {
    const segments = parseDocPath(path)
    if (segments.length === 0) return this.#root.url
    const entry = this.#lookup(segments, path)
    return entry && urlOf(entry.docId)
  }

  /** Tonk's exists(): whether the index has `path` ("/" always exists). */
  async exists(path: string): Promise<boolean> {
    return (await this.resolve(path)) !== undefined
  }

  /**
   * The content of the document at `path` as plain data, or undefined. As in Tonk, a primitive stored
   * as {value: X} is unwrapped; a file's raw bytes are not part of it (see readFile).
   */
  async readDoc<T = DocContent>(path: string): Promise<T | undefined> {
    const file = await this.readFile<T>(path)
    return file?.content
  }

  /** Tonk's readFile(): the DocNode at `path` (content as readDoc gives it, bytes if any), or undefined. */
  async readFile<T = unknown>(path: string): Promise<VfsDocument<T> | undefined> {
    const segments = parseDocPath(path)
    if (segments.length === 0) throw new DocPathError('NOT_A_DOCUMENT', path, 'is the root directory')
    const entry = this.#lookup(segments, path)
    if (!entry) return undefined
    if (entry.type !== 'document') throw new DocPathError('NOT_A_DOCUMENT', path, 'is a directory')
    const doc = (await this.#find<DocNode>(urlOf(entry.docId), path)).doc() as unknown as Record<string, unknown>
    const timestamps = isRecord(doc.timestamps) ? doc.timestamps : {}
    const file: VfsDocument<T> = {
      type: 'document',
      name: text(doc.name) ?? baseName(entry.path),
      timestamps: { created: millis(timestamps.created), modified: millis(timestamps.modified) },
      content: contentOf(doc.content) as T,
    }
    if (doc.bytes instanceof Uint8Array) file.bytes = doc.bytes
    return file
  }

  /** Creates the document at `path` (and missing parent directories) or replaces its content. */
  async writeDoc<T extends object = DocContent>(path: string, value: T): Promise<AutomergeUrl> {
    if (!isPlainObject(value)) throw new TypeError('document content must be a plain object')
    return this.#write(path, value, undefined)
  }

  /**
   * Tonk's setFile / createFile(WithBytes): creates the file at `path` (and missing parent directories)
   * or replaces its content. `content` is any JSON value (a primitive is stored as {value: X}, as Tonk
   * does); `bytes`, when given, become the file's raw bytes (content then usually {mime}); without them
   * a file's existing bytes are kept, as Tonk's set does.
   */
  async writeFile(path: string, content: unknown, bytes?: Uint8Array): Promise<AutomergeUrl> {
    if (bytes !== undefined && !(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
    return this.#write(path, wrapContent(content), bytes)
  }

  async #write(path: string, value: object, bytes: Uint8Array | undefined): Promise<AutomergeUrl> {
    const segments = this.#fileSegments(path)
    const key = joinPath(segments)
    await this.#ensureDir(segments.slice(0, -1), path)
    const existing = this.#entryAt(key)
    if (existing) return this.#replaceExisting(existing, value, bytes, path)

    // Flush the new document before linking it (see the header).
    const now = this.#now()
    // One change, as Tonk's init_as_document makes (no empty first change in the history).
    const node: Record<string, unknown> = {
      type: scalar('document'),
      name: scalar(segments[segments.length - 1]!),
      timestamps: { created: now, modified: now },
      content: structuredClone(value),
    }
    if (bytes) node.bytes = bytes
    const created = this.#repo.create<DocNode>(node as unknown as DocNode)
    await this.#repo.flush([created.documentId])
    const winner = this.#link(key, 'document', created.documentId)
    if (winner.docId === created.documentId) {
      await this.#repairPath(key)
      return created.url
    }
    // Someone linked the path while we flushed: write into theirs, drop ours.
    this.#repo.delete(created.documentId)
    return this.#replaceExisting(winner, value, bytes, path)
  }

  /** Applies `fn` to the content of the document at `path` in one Automerge change. Throws NOT_FOUND when absent. */
  async changeDoc<T = DocContent>(path: string, fn: (doc: T) => void): Promise<AutomergeUrl> {
    const segments = this.#fileSegments(path)
    const entry = this.#lookup(segments, path)
    if (!entry) throw new DocPathError('NOT_FOUND', path, 'no document')
    if (entry.type !== 'document') throw new DocPathError('NOT_A_DOCUMENT', path, 'is a directory')
    const handle = await this.#find<DocNode>(urlOf(entry.docId), path)
    const now = this.#now()
    handle.change((d) => {
      const doc = d as unknown as Record<string, unknown>
      // Content kept as a JSON string (older Tonk) becomes native maps first, as Tonk's own writes do.
      if (!isRecord(doc.content)) {
        const current = contentOf(doc.content)
        doc.content = isRecord(current) ? current : {}
      }
      fn(doc.content as T)
      touchNode(doc, now)
    })
    this.#touch(entry)
    return urlOf(entry.docId)
  }

  /** The entries of the directory at `path`, sorted by name. */
  async ls(path: string): Promise<DirListing[]> {
    const segments = parseDocPath(path)
    if (segments.length > 0) {
      const entry = this.#lookup(segments, path)
      if (!entry) throw new DocPathError('NOT_FOUND', path, 'no directory')
      if (entry.type !== 'directory') throw new DocPathError('NOT_A_DIRECTORY', path, 'is a document')
    }
    return this.#childrenOf(joinPath(segments))
      .map((e) => ({ name: baseName(e.path), type: listingType(e.type), url: urlOf(e.docId), timestamps: { created: e.created, modified: e.modified } }))
      .sort((a, b) => compareNames(a.name, b.name))
  }

  /** Creates the directory at `path` and its parents; returns its url (existing directories are kept). */
  async mkDir(path: string): Promise<AutomergeUrl> {
    const segments = parseDocPath(path)
    const docId = await this.#ensureDir(segments, path)
    if (segments.length > 0) await this.#repairPath(joinPath(segments))
    return urlOf(docId)
  }

  /**
   * Removes the entry at `path` and, for a directory, every entry below it (Tonk's remove_document
   * leaves those in the index, unreachable; we do not); returns whether there was one. The documents
   * stay in storage (other peers or old links may still use them).
   */
  async rm(path: string): Promise<boolean> {
    const key = joinPath(this.#fileSegments(path))
    if (!this.#entryAt(key)) return false
    const now = this.#now()
    const below = key + '/'
    this.#root.change((d) => {
      const entries = ensureEntries(d, now)
      delete entries[key]
      for (const other of Object.keys(entries)) if (other.startsWith(below)) delete entries[other]
      d.last_updated = now
    })
    await this.#repairPath(key)
    return true
  }

  /**
   * Tonk's rename (move_document): moves the entry at `from` (and everything below it) to `to`, keeping
   * documents and created times; parents of `to` are created. Throws NOT_FOUND, or INVALID_PATH when
   * `to` exists or lies inside `from`.
   */
  async rename(from: string, to: string): Promise<AutomergeUrl> {
    const source = joinPath(this.#fileSegments(from))
    const targetSegments = this.#fileSegments(to)
    const target = joinPath(targetSegments)
    const entry = this.#lookup(parseDocPath(source), from)
    if (!entry) throw new DocPathError('NOT_FOUND', from, 'nothing to rename')
    if (target === source || target.startsWith(source + '/')) throw new DocPathError('INVALID_PATH', to, `cannot move ${source} into itself`)
    await this.#ensureDir(targetSegments.slice(0, -1), to)
    if (this.#entryAt(target)) throw new DocPathError('INVALID_PATH', to, 'already exists')
    const now = this.#now()
    this.#root.change((d) => {
      const entries = ensureEntries(d, now)
      for (const path of Object.keys(entries)) {
        if (path !== source && !path.startsWith(source + '/')) continue
        const e = readEntry(path, entries[path])
        delete entries[path]
        if (e) entries[target + path.slice(source.length)] = newEntry(e.docId, e.type, e.created, now)
      }
      d.last_updated = now
    })
    if (baseName(source) !== baseName(target)) {
      const handle = await this.#find<DocNode>(urlOf(entry.docId), to)
      handle.change((d) => {
        const doc = d as unknown as Record<string, unknown>
        doc.name = scalar(baseName(target))
        touchNode(doc, now)
      })
    }
    await this.#repairChildren(parentOf(source))
    await this.#repairPath(target)
    return urlOf(entry.docId)
  }

  /**
   * Calls `cb` with the document's content now and on every change, with undefined while nothing is
   * at `path`; follows the path as the index changes (created later, replaced, removed, renamed).
   * Returns an unsubscribe function.
   */
  listen<T = DocContent>(path: string, cb: (value: T | undefined, url: AutomergeUrl | undefined) => void): () => void {
    const key = joinPath(this.#fileSegments(path))
    let target: { docId: string; off: () => void } | undefined
    let closed = false
    let running = false
    let again = false
    let retryTimer: ReturnType<typeof setTimeout> | undefined
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
    const contentOfDoc = (doc: unknown) => contentOf(isRecord(doc) ? doc.content : undefined) as T

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
      let unavailable = false
      const entry = readEntry(key, rawEntries(this.#root.doc())[key])
      const docId = entry?.type === 'document' && !this.#underDocument(key) ? entry.docId : undefined
      if (docId !== target?.docId) {
        target?.off()
        target = undefined
        if (docId) {
          try {
            const handle = await this.#find<DocNode>(urlOf(docId), path)
            if (closed) return
            const onChange = ({ doc }: DocHandleChangePayload<DocNode>) => report(contentOfDoc(doc), urlOf(docId))
            handle.on('change', onChange)
            target = { docId, off: () => void handle.off('change', onChange) }
            report(contentOfDoc(handle.doc()), urlOf(docId))
          } catch (error) {
            unavailable = true
            this.#log.debug(`docs: listen ${path}: ${String(error)}`)
          }
        }
      }
      if (!target && lastUrl !== undefined) report(undefined, undefined)
      // A document that peers have not sent yet: look again later.
      if (unavailable && !closed && !retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined
          void refresh()
        }, retryDelay)
        ;(retryTimer as { unref?: () => void }).unref?.()
        retryDelay = Math.min(retryDelay * 2, 30_000)
      } else if (!unavailable) retryDelay = 500
    }

    const onRoot = () => void refresh()
    this.#root.on('change', onRoot)
    void refresh()
    return () => {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      this.#root.off('change', onRoot)
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

  /**
   * Every path of the index (directories before their contents, by name). Entries whose parent is
   * missing (a peer removed a folder while another wrote into it) are listed too: they are in the index.
   */
  async walk(): Promise<WalkEntry[]> {
    return this.#allEntries()
      .sort((a, b) => comparePaths(a.path, b.path))
      .map((e) => ({ path: e.path, type: listingType(e.type), url: urlOf(e.docId), timestamps: { created: e.created, modified: e.modified } }))
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

  #entryAt(key: string): IndexEntry | undefined {
    return readEntry(key, rawEntries(this.#root.doc())[key])
  }

  /** Valid entries of the index (keys DocTree could not address are skipped). */
  #allEntries(): IndexEntry[] {
    const root = this.#root.doc()
    const cached = isRecord(root) ? allEntriesOf.get(root) : undefined
    if (cached) return [...cached]
    const out: IndexEntry[] = []
    for (const [path, raw] of Object.entries(rawEntries(root))) {
      const entry = readEntry(path, raw)
      if (entry && validKey(path)) out.push(entry)
      else this.#log.debug(`docs: index entry ${JSON.stringify(path)} skipped`)
    }
    if (isRecord(root)) allEntriesOf.set(root, out)
    return [...out]
  }

  #childrenOf(dir: string): IndexEntry[] {
    const prefix = dir === '/' ? '/' : dir + '/'
    return this.#allEntries().filter((e) => e.path.startsWith(prefix) && e.path.length > prefix.length && !e.path.slice(prefix.length).includes('/'))
  }

  /** Whether a folder above `key` is a document in the index. */
  #underDocument(key: string): boolean {
    for (let dir = parentOf(key); dir !== '/'; dir = parentOf(dir)) if (this.#entryAt(dir)?.type === 'document') return true
    return false
  }

  /** The entry at `segments`; NOT_A_DIRECTORY when a folder on the way is a document. */
  #lookup(segments: string[], path: string): IndexEntry | undefined {
    for (let i = 1; i < segments.length; i++) {
      if (this.#entryAt(joinPath(segments.slice(0, i)))?.type === 'document') {
        throw new DocPathError('NOT_A_DIRECTORY', path, `"${segments[i - 1]}" is a document`)
      }
    }
    return this.#entryAt(joinPath(segments))
  }

  /** Makes every directory of `segments` exist; returns the last one's document id (the root's for []). */
  async #ensureDir(segments: string[], path: string): Promise<string> {
    let docId: string = this.#root.documentId
    for (let i = 1; i <= segments.length; i++) {
      const key = joinPath(segments.slice(0, i))
      let entry = this.#entryAt(key)
      if (!entry) {
        const now = this.#now()
        const created = this.#repo.create<DirNode>({
          type: scalar('directory') as 'directory',
          name: scalar(segments[i - 1]!),
          timestamps: { created: now, modified: now },
          children: [],
        })
        await this.#repo.flush([created.documentId])
        entry = this.#link(key, 'directory', created.documentId)
        if (entry.docId !== created.documentId) this.#repo.delete(created.documentId)
      }
      if (entry.type !== 'directory') throw new DocPathError('NOT_A_DIRECTORY', path, `"${segments[i - 1]}" is a document`)
      docId = entry.docId
    }
    return docId
  }

  /**
   * Adds `key` → `docId` to the index unless the path exists by now (Tonk's set_path_entry); returns the
   * entry that is there afterwards. The callers then add the RefNodes (Tonk's add_to_parent) by #repairPath.
   */
  #link(key: string, type: NodeType, docId: string): IndexEntry {
    const now = this.#now()
    this.#root.change((d) => {
      const entries = ensureEntries(d, now)
      if (entries[key]) return
      entries[key] = newEntry(docId, type, now, now)
      d.last_updated = now
    })
    return this.#entryAt(key)!
  }

  async #replaceExisting(entry: IndexEntry, value: object, bytes: Uint8Array | undefined, path: string): Promise<AutomergeUrl> {
    if (entry.type !== 'document') throw new DocPathError('NOT_A_DOCUMENT', path, 'is a directory')
    const handle = await this.#find<DocNode>(urlOf(entry.docId), path)
    const now = this.#now()
    handle.change((d) => {
      const doc = d as unknown as Record<string, unknown>
      // Key by key, so unchanged parts keep their history; `bytes` (a raw file) is kept, as Tonk's set does.
      if (isRecord(doc.content) && isPlainObject(value)) replaceContent(doc.content as DocContent, structuredClone(value))
      else doc.content = structuredClone(value)
      if (bytes) doc.bytes = bytes
      touchNode(doc, now)
    })
    this.#touch(entry)
    await this.#repairPath(entry.path)
    return urlOf(entry.docId)
  }

  /** Bumps an entry's modified time (coarsely, as Tonk's update_path_modified does on every write). */
  #touch(entry: IndexEntry): void {
    const now = this.#now()
    if (now - entry.modified < MODIFIED_RESOLUTION_MS) return
    this.#root.change((d) => {
      const entries = ensureEntries(d, now)
      const current = readEntry(entry.path, entries[entry.path])
      if (current?.docId !== entry.docId) return
      entries[entry.path]!.modified = now
      d.last_updated = now
    })
  }

  /**
   * Repair on write, along a path: the conflicts of its entry and of every folder above it are
   * collapsed, and every folder from the root down to its parent whose RefNode for the path is missing,
   * doubled or wrong gets its whole children list matched to the index.
   */
  async #repairPath(key: string): Promise<void> {
    const segments = key.split('/').slice(1)
    for (let i = 1; i <= segments.length; i++) {
      const entry = this.#entryAt(joinPath(segments.slice(0, i)))
      if (entry) this.#collapse(entry)
    }
    for (let i = 0; i < segments.length; i++) {
      const dir = joinPath(segments.slice(0, i))
      await this.#repairChildren(dir, this.#entryAt(joinPath(segments.slice(0, i + 1))))
    }
  }

  /** Repair: concurrent entries for one path that name different documents are replaced by a copy of the one every reader shows. */
  #collapse(entry: IndexEntry): void {
    const root = this.#root.doc()
    if (!isRecord(root?.entries)) return
    const conflicts = Automerge.getConflicts(root.entries, entry.path)
    // Values that agree (two peers collapsed the same conflict at once) are left: rewriting them
    // again would only make a new conflict of the same kind on the next concurrent write.
    const disagree = Object.values(conflicts ?? {}).some((v) => readEntry(entry.path, v)?.docId !== entry.docId || readEntry(entry.path, v)?.type !== entry.type)
    if (!disagree) return
    this.#log.debug(`docs: ${entry.path} was created concurrently; keeping ${entry.docId}`)
    this.#root.change((d) => {
      d.entries[entry.path] = newEntry(entry.docId, entry.type, entry.created, entry.modified)
    })
  }

  /**
   * Repair: makes a directory's DirNode children list match the index: one RefNode per child name,
   * pointing at the indexed document; names the index lacks are removed.
   */
  async #repairChildren(dir: string, expected?: IndexEntry): Promise<void> {
    let handle: DocHandle<{ children?: RefNode[] }>
    if (dir === '/') handle = this.#root as unknown as DocHandle<{ children?: RefNode[] }>
    else {
      const entry = this.#entryAt(dir)
      if (entry?.type !== 'directory') return
      try {
        handle = await this.#find(urlOf(entry.docId), dir)
      } catch (error) {
        this.#log.debug(`docs: ${dir}: children list not updated: ${String(error)}`)
        return
      }
    }
    // The common case, a write through a consistent path: this folder's RefNode for it is right.
    if (expected && refIsRight(handle.doc()?.children, expected)) return
    const wanted = new Map(this.#childrenOf(dir).map((e) => [baseName(e.path), e]))
    const plan = planChildren(handle.doc()?.children, wanted)
    if (!plan) return
    const now = this.#now()
    handle.change((d) => {
      const doc = d as unknown as Record<string, unknown>
      if (!Array.isArray(doc.children)) doc.children = []
      const children = doc.children as RefNode[]
      for (const i of plan.remove) children.splice(i, 1)
      for (const [i, e] of plan.update) {
        children[i]!.pointer = scalar(e.docId)
        children[i]!.type = scalar(e.type) as NodeType
      }
      for (const e of plan.add) {
        children.push({ name: scalar(baseName(e.path)), pointer: scalar(e.docId), type: scalar(e.type) as NodeType, timestamps: { created: e.created, modified: e.modified } })
      }
      touchNode(doc, now)
    })
  }
}

/** Whether a children list has exactly one RefNode for `entry`'s name, pointing at its document. */
function refIsRight(children: unknown, entry: IndexEntry): boolean {
  if (!Array.isArray(children)) return false
  const name = baseName(entry.path)
  let found = 0
  for (const child of children) {
    if (!isRecord(child) || text(child.name) !== name) continue
    if (++found > 1 || text(child.pointer) !== entry.docId || text(child.type) !== entry.type) return false
  }
  return found === 1
}

/** What to change in a children list to match the index (undefined: nothing). Removals are descending. */
function planChildren(children: unknown, wanted: Map<string, IndexEntry>) {
  const list = Array.isArray(children) ? children : []
  const kept = new Map<string, number>()
  const remove: number[] = []
  const update: Array<[number, IndexEntry]> = []
  // The RefNode to keep for a name: the first that points at the indexed document, else the first.
  list.forEach((child, i) => {
    const name = isRecord(child) ? text(child.name) : undefined
    const entry = name === undefined ? undefined : wanted.get(name)
    if (!entry || name === undefined) return void remove.push(i)
    const previous = kept.get(name)
    const pointsRight = text((child as Record<string, unknown>).pointer) === entry.docId
    if (previous === undefined) kept.set(name, i)
    else if (pointsRight && text((list[previous] as Record<string, unknown>).pointer) !== entry.docId) {
      remove.push(previous)
      kept.set(name, i)
    } else remove.push(i)
  })
  for (const [name, i] of kept) {
    const child = list[i] as Record<string, unknown>
    const entry = wanted.get(name)!
    if (text(child.pointer) !== entry.docId || text(child.type) !== entry.type) update.push([i, entry])
  }
  const add = [...wanted].filter(([name]) => !kept.has(name)).map(([, e]) => e)
  if (remove.length === 0 && update.length === 0 && add.length === 0) return undefined
  remove.sort((a, b) => b - a)
  // Indices of updates are taken before removals shift them: apply updates by index after removal.
  const shifted = update.map(([i, e]): [number, IndexEntry] => [i - remove.filter((r) => r < i).length, e])
  return { remove, update: shifted, add }
}

/** Content as Tonk stores it: objects and arrays as they are, anything else as {value: X}. */
function wrapContent(content: unknown): object {
  if (content === undefined) return { value: null }
  return typeof content === 'object' && content !== null && !(content instanceof Uint8Array) ? content : { value: content }
}

/** A DocNode's or DirNode's modified time, coarsely (see MODIFIED_RESOLUTION_MS). */
function touchNode(doc: Record<string, unknown>, now: number): void {
  // As Tonk's update_modified_timestamp: only where there are timestamps (the root has none).
  if (!isRecord(doc.timestamps)) return
  if (now - millis(doc.timestamps.modified) >= MODIFIED_RESOLUTION_MS) doc.timestamps.modified = now
}

/** An index key DocTree can address (Tonk may hold others; they are skipped, not refused). */
function validKey(path: string): boolean {
  try {
    return path !== '/' && normalizeDocPath(path) === path
  } catch {
    return false
  }
}

/** For tests and tools: every value of a PathIndex entry written concurrently (the winner included), [] if none. */
export function entryConflicts(root: RootDoc, path: string): PathEntry[] {
  if (!isRecord(root.entries)) return []
  // getConflicts says nothing about a key with a single value: that value is the only one.
  const conflicts = Automerge.getConflicts(root.entries, path)
  if (conflicts) return Object.values(conflicts).map((v) => toPlain(v)) as PathEntry[]
  return path in root.entries ? [toPlain(root.entries[path]) as PathEntry] : []
}
