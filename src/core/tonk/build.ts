// Files → a fresh VFS in Tonk's shapes, exactly as tonk-core's AutomergeHelpers writes them
// (packages/core/src/vfs/backend.rs): a root PathIndex {type: "path_index", version: 2, last_updated,
// entries, children}, DirNodes, DocNodes with content {mime} and raw bytes. Strings are ImmutableString
// scalars as Rust writes them (Tonk's reader does not take a Text object for a name or an id).
// Used to make .tonk files from scratch (fixtures, `export` of a new app later); with a seed the ids,
// actors and times are derived, so the same files give the same bytes.
import { createHash, randomBytes } from 'node:crypto'
import { Automerge, parseAutomergeUrl, stringifyAutomergeUrl } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../util/automerge'
import { BundleError, q } from '../bundle/errors'
import { contentTypeFor } from '../bundle/manifest'
import { compareUtf8 } from '../bundle/paths'
import { baseName, groupByParent, parentOf, vfsPathProblem } from './vfs-paths'

type Doc = Automerge.Doc<unknown>

export interface VfsFileInput {
  /** Absolute VFS path, "/app/index.html". */
  path: string
  /** Raw file bytes (an asset, a page); the content then defaults to {mime}. */
  bytes?: Uint8Array
  /** JSON content; without bytes it is the file (Tonk wraps a primitive as {value: X}). */
  content?: unknown
  /** For files with bytes: the mime type, else implied by the extension. */
  mime?: string
}

export interface BuildOptions {
  /** Derive ids and actors from this string instead of random ones (fixtures, reproducible exports). */
  seed?: string
  /** Milliseconds for every timestamp (default: now). */
  time?: number
}

export interface BuiltVfs {
  rootId: string
  documents: Map<string, Doc>
}

const { ImmutableString } = Automerge
const str = (s: string) => new ImmutableString(s)
const sha = (text: string) => createHash('sha256').update(text).digest()

/** Tonk's strings are scalars: turn JSON content into Automerge values the way Rust's put_json_value does. */
function toTonkValue(value: unknown): unknown {
  if (typeof value === 'string') return str(value)
  if (Array.isArray(value)) return value.map(toTonkValue)
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toTonkValue(v)]))
}

export async function buildTonkVfs(files: readonly VfsFileInput[], options: BuildOptions = {}): Promise<BuiltVfs> {
  await initAutomerge()
  const time = options.time ?? Date.now()
  const idFor = (path: string): string => {
    const bytes = options.seed === undefined ? randomBytes(16) : sha(`tonk-vfs-id:${options.seed}:${path}`).subarray(0, 16)
    return parseAutomergeUrl(stringifyAutomergeUrl({ documentId: new Uint8Array(bytes) } as never)).documentId
  }
  const create = (path: string, fill: (doc: Record<string, unknown>) => void): Doc => {
    const actor = options.seed === undefined ? undefined : sha(`tonk-vfs-actor:${options.seed}:${path}`).subarray(0, 16).toString('hex')
    const empty = Automerge.init<Record<string, unknown>>(actor === undefined ? undefined : { actor })
    return Automerge.change(empty, { time: Math.floor(time / 1000) }, fill) as Doc
  }
  const timestamps = () => ({ created: time, modified: time })

  // Every file and every folder above it, each path once.
  const byPath = new Map<string, VfsFileInput | 'directory'>()
  for (const file of files) {
    const problem = vfsPathProblem(file.path)
    if (problem) throw new BundleError('E_TONK_PATH', `${q(file.path)} ${problem}`, { path: file.path })
    if (byPath.has(file.path)) throw new BundleError('E_PATH_DUPLICATE', `${q(file.path)} is given twice`, { path: file.path })
    byPath.set(file.path, file)
  }
  for (const path of [...byPath.keys()]) {
    for (let dir = parentOf(path); dir !== '/'; dir = parentOf(dir)) {
      const existing = byPath.get(dir)
      if (existing !== undefined && existing !== 'directory') {
        throw new BundleError('E_PATH_DUPLICATE', `${q(dir)} is a file and the folder of ${q(path)}`, { path: dir })
      }
      byPath.set(dir, 'directory')
    }
  }
  const paths = [...byPath.keys()].sort(compareUtf8)
  const ids = new Map(paths.map((p) => [p, idFor(p)]))
  const rootId = idFor('/')
  const byParent = groupByParent(paths, (p) => p)
  const childrenOf = (dir: string) =>
    (byParent.get(dir) ?? []).map((p) => ({
        name: str(baseName(p)),
        pointer: str(ids.get(p)!),
        timestamps: timestamps(),
        type: str(byPath.get(p) === 'directory' ? 'directory' : 'document'),
      }))

  const documents = new Map<string, Doc>()
  for (const path of paths) {
    const node = byPath.get(path)!
    if (node === 'directory') {
      documents.set(
        ids.get(path)!,
        create(path, (d) => Object.assign(d, { type: str('directory'), name: str(baseName(path)), timestamps: timestamps(), children: childrenOf(path) })),
      )
      continue
    }
    const content = node.bytes ? { mime: node.mime ?? contentTypeFor(path), ...(isPlainObject(node.content) ? node.content : {}) } : wrapContent(node.content)
    documents.set(
      ids.get(path)!,
      create(path, (d) => {
        Object.assign(d, { type: str('document'), name: str(baseName(path)), timestamps: timestamps(), content: toTonkValue(content) })
        if (node.bytes) d.bytes = node.bytes
      }),
    )
  }
  const entries = Object.fromEntries(
    paths.map((p) => [p, { doc_id: str(ids.get(p)!), node_type: str(byPath.get(p) === 'directory' ? 'directory' : 'document'), created: time, modified: time }]),
  )
  documents.set(
    rootId,
    create('/', (d) => Object.assign(d, { type: str('path_index'), version: 2, last_updated: time, entries, children: childrenOf('/') })),
  )
  return { rootId, documents }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)

/** Tonk stores objects and arrays as they are and wraps anything else in {value: X}. */
function wrapContent(content: unknown): unknown {
  if (content === undefined) return { value: '' }
  return typeof content === 'object' && content !== null && !(content instanceof Uint8Array) ? content : { value: content }
}
