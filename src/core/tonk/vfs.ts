// Tonk's virtual file system, read from a set of Automerge documents (TONK_FORMAT.md "Data Model";
// packages/core/src/vfs in tonk-labs/tonk). The root document (id = manifest rootId) is the PathIndex:
//   entries: { "/app/index.html": {doc_id, node_type: "document" | "directory", created, modified}, ... }
// plus, as the "/" directory, a DirNode `children` list. Directories are DirNodes
// {type: "directory", name, timestamps, children: [{name, pointer, type, timestamps}]}; files are
// DocNodes {type: "document", name, timestamps, content, bytes?}. Tonk treats the PathIndex as the source
// of truth (its listDirectory reads only the index), so this reader does too; the DirNode lists are
// only compared with it. Files written before November 2025 keep the index as a JSON string in
// `path_index` ({paths: {path: {doc_id, type, created, modified}}}); both layouts are read.
import type { Automerge } from '@automerge/automerge-repo/slim'
import { BundleError, issue, q, type Issue } from '../bundle/errors'
import { contentTypeFor, DEFAULT_CONTENT_TYPE } from '../bundle/manifest'
import { compareUtf8 } from '../bundle/paths'
import { isDocumentId } from './storage-path'
import { baseName, groupByParent, parentOf, vfsPathProblem } from './vfs-paths'
import { contentValue, isRecord, stringValue, timeValue, unwrapContent } from './values'

export type VfsNodeType = 'document' | 'directory'

/** Where the root keeps its index: `entries` (Tonk today) or the older `path_index` JSON string. */
export type PathIndexLayout = 'entries' | 'path_index-json'

export interface VfsNode {
  /** Absolute VFS path, "/app/index.html". */
  path: string
  type: VfsNodeType
  documentId: string
  created?: number
  modified?: number
  /** Documents: bytes a reader gets (the raw bytes, else the content as text or JSON). */
  size?: number
  /** Documents: content.mime, else implied by the extension. */
  mime?: string
  /** Documents: whether the DocNode holds raw `bytes`. */
  hasBytes?: boolean
}

export interface VfsFile {
  node: VfsNode
  /** The DocNode's content as plain JSON (a {value: X} wrapper removed, as Tonk does). */
  content: unknown
  bytes?: Uint8Array
  mime: string
  /** What a file on disk would hold: `bytes`, else a string content as UTF-8, else the content as JSON. */
  data: Uint8Array
}

type Doc = Automerge.Doc<unknown>

interface IndexEntry {
  documentId: unknown
  type: unknown
  created: unknown
  modified: unknown
}

/** A read-only view of one VFS. Build it with {@link readVfs}. */
export class TonkVfs {
  private readonly byPath: Map<string, VfsNode>
  private readonly byParent: Map<string, VfsNode[]>

  constructor(
    readonly rootId: string,
    readonly layout: PathIndexLayout,
    /** Every node but "/", in UTF-8 path order. */
    readonly nodes: readonly VfsNode[],
    private readonly documents: ReadonlyMap<string, Doc>,
  ) {
    this.byPath = new Map(nodes.map((n) => [n.path, n]))
    this.byParent = groupByParent(nodes, (n) => n.path)
  }

  get(path: string): VfsNode | undefined {
    return this.byPath.get(path)
  }

  /** The direct children of a directory ("/" for the root), in path order. */
  list(dir: string): VfsNode[] {
    return this.byParent.get(dir) ?? []
  }

  /** Every document node (the files). */
  files(): VfsNode[] {
    return this.nodes.filter((n) => n.type === 'document')
  }

  readFile(path: string): VfsFile | undefined {
    const node = this.byPath.get(path)
    if (!node || node.type !== 'document') return undefined
    return decodeFile(node, this.documents.get(node.documentId)!)
  }

  /**
   * The VFS file an entrypoint opens: a document path as it is, a directory (with or without the
   * leading slash: Tonk's desktonk says "app") through its index.html. Undefined when neither exists.
   */
  resolveEntrypoint(entrypoint: string): string | undefined {
    const path = entrypoint.startsWith('/') ? entrypoint : `/${entrypoint}`
    const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
    const node = this.byPath.get(trimmed)
    if (node?.type === 'document') return node.path
    const index = trimmed === '/' ? '/index.html' : `${trimmed}/index.html`
    return this.byPath.get(index)?.type === 'document' ? index : undefined
  }
}

/**
 * Reads the VFS rooted at `rootId` (which must be in `documents`). Errors: a root that is no PathIndex
 * or an entry of the wrong shape (E_TONK_VFS), a bad path (E_TONK_PATH), a bad or absent document
 * (E_TONK_DOC_ID, E_TONK_DOC_MISSING), a node whose document says the other type (E_TONK_NODE_TYPE).
 * Warnings: DirNode lists or parents that disagree with the index (E_TONK_VFS_INCONSISTENT).
 * The VFS holds the nodes that passed; with any error it is incomplete.
 */
export function readVfs(rootId: string, documents: ReadonlyMap<string, Doc>): { vfs?: TonkVfs; issues: Issue[] } {
  const issues: Issue[] = []
  const root = documents.get(rootId) as Record<string, unknown> | undefined
  if (!root) return { issues: [issue('E_TONK_ROOT_MISSING', `the root document ${rootId} is not in the file`)] }
  const index = readIndex(root, rootId, issues)
  if (!index) return { issues }

  const nodes: VfsNode[] = []
  for (const [path, entry] of index.entries) {
    const node = readNode(path, entry, documents, issues)
    if (node) nodes.push(node)
  }
  nodes.sort((a, b) => compareUtf8(a.path, b.path))
  const byPath = new Map(nodes.map((n) => [n.path, n]))
  for (const node of nodes) {
    const parent = parentOf(node.path)
    if (parent === '/') continue
    const parentNode = byPath.get(parent)
    if (parentNode?.type === 'document') {
      issues.push(issue('E_TONK_VFS', `${q(node.path)} is inside ${q(parent)}, which is a document`, { path: node.path }))
    } else if (!parentNode && index.entries.has(parent) === false) {
      issues.push(issue('E_TONK_VFS_INCONSISTENT', `${q(node.path)} has no parent directory ${q(parent)} in the PathIndex`, { path: node.path }, 'warning'))
    }
  }
  const byParent = groupByParent(nodes, (n) => n.path)
  compareDirectoryLists(root, '/', byParent.get('/') ?? [], issues)
  for (const node of nodes) {
    if (node.type === 'directory') {
      compareDirectoryLists(documents.get(node.documentId) as Record<string, unknown>, node.path, byParent.get(node.path) ?? [], issues)
    }
  }
  return { vfs: new TonkVfs(rootId, index.layout, nodes, documents), issues }
}

function readIndex(
  root: Record<string, unknown>,
  rootId: string,
  issues: Issue[],
): { layout: PathIndexLayout; entries: Map<string, IndexEntry> } | undefined {
  const entries = new Map<string, IndexEntry>()
  if (isRecord(root.entries)) {
    for (const [path, entry] of Object.entries(root.entries)) {
      const e = isRecord(entry) ? entry : {}
      entries.set(path, { documentId: e.doc_id, type: e.node_type, created: e.created, modified: e.modified })
    }
    return { layout: 'entries', entries }
  }
  const legacy = stringValue(root.path_index)
  if (legacy !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(legacy)
    } catch (error) {
      issues.push(issue('E_TONK_VFS', `the root document's path_index is not JSON: ${(error as Error).message}`))
      return undefined
    }
    const paths = isRecord(parsed) ? parsed.paths : undefined
    if (!isRecord(paths)) {
      issues.push(issue('E_TONK_VFS', 'the root document\'s path_index has no "paths" object'))
      return undefined
    }
    for (const [path, entry] of Object.entries(paths)) {
      const e = isRecord(entry) ? entry : {}
      entries.set(path, { documentId: e.doc_id, type: e.type, created: e.created, modified: e.modified })
    }
    return { layout: 'path_index-json', entries }
  }
  issues.push(issue('E_TONK_VFS', `the root document ${rootId} is not a PathIndex: it has neither "entries" nor "path_index"`))
  return undefined
}

function readNode(path: string, entry: IndexEntry, documents: ReadonlyMap<string, Doc>, issues: Issue[]): VfsNode | undefined {
  const problem = vfsPathProblem(path)
  if (problem) {
    issues.push(issue('E_TONK_PATH', `PathIndex entry ${q(path)} ${problem}`, { path }))
    return undefined
  }
  const documentId = stringValue(entry.documentId)
  const type = stringValue(entry.type)
  if (documentId === undefined || (type !== 'document' && type !== 'directory')) {
    issues.push(issue('E_TONK_VFS', `PathIndex entry ${q(path)} needs a doc_id string and a node type "document" or "directory"`, { path }))
    return undefined
  }
  if (!isDocumentId(documentId)) {
    issues.push(issue('E_TONK_DOC_ID', `${q(path)} points at ${q(documentId)}, which is not an automerge document id`, { path }))
    return undefined
  }
  const doc = documents.get(documentId) as Record<string, unknown> | undefined
  if (!doc) {
    issues.push(issue('E_TONK_DOC_MISSING', `${q(path)} points at document ${documentId}, which the file does not hold`, { path }))
    return undefined
  }
  // Tonk reads a node without a "type" as the type asked for; a different type is its NodeTypeMismatch.
  const docType = stringValue(doc.type)
  if (docType !== undefined && docType !== type) {
    issues.push(issue('E_TONK_NODE_TYPE', `${q(path)} is a ${type} in the PathIndex but its document says ${q(docType)}`, { path }))
    return undefined
  }
  const node: VfsNode = { path, type, documentId }
  const created = timeValue(entry.created)
  const modified = timeValue(entry.modified)
  if (created !== undefined) node.created = created
  if (modified !== undefined) node.modified = modified
  if (type === 'document') {
    try {
      const file = decodeFile(node, doc)
      node.size = file.data.length
      node.mime = file.mime
      node.hasBytes = file.bytes !== undefined
    } catch (error) {
      if (!(error instanceof BundleError)) throw error
      issues.push(issue(error.code, `${q(path)}: ${error.message}`, { path }))
      return undefined
    }
  }
  return node
}

function decodeFile(node: VfsNode, doc: Doc): VfsFile {
  const record = doc as Record<string, unknown>
  const bytes = record.bytes instanceof Uint8Array ? record.bytes : undefined
  const raw = contentValue(record.content)
  const mime = mimeOf(node.path, raw, bytes)
  const content = unwrapContent(raw)
  const data = bytes ?? renderContent(content)
  return bytes ? { node, content, bytes, mime, data } : { node, content, mime, data }
}

function mimeOf(path: string, content: unknown, bytes: Uint8Array | undefined): string {
  if (isRecord(content) && typeof content.mime === 'string') return content.mime
  const byExtension = contentTypeFor(path)
  if (bytes) return byExtension
  const unwrapped = unwrapContent(content)
  if (typeof unwrapped === 'string') return byExtension === DEFAULT_CONTENT_TYPE ? 'text/plain' : byExtension
  return 'application/json'
}

/** A file's bytes on disk: its raw bytes, else a string content as UTF-8, else the content as JSON. */
export function fileData(content: unknown, bytes?: Uint8Array): Uint8Array {
  return bytes ?? renderContent(content)
}

function renderContent(content: unknown): Uint8Array {
  if (content === undefined || content === null) return new Uint8Array(0)
  if (typeof content === 'string') return new TextEncoder().encode(content)
  // Bytes inside JSON content travel as base64, as Tonk's own JSON conversion does.
  const json = JSON.stringify(content, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value), 2)
  return new TextEncoder().encode(json + '\n')
}

/** A directory's DirNode `children` against the index: the index wins, a difference is a warning. */
function compareDirectoryLists(dirDoc: Record<string, unknown> | undefined, dirPath: string, indexed: readonly VfsNode[], issues: Issue[]) {
  const listed = new Map<string, string | undefined>()
  const children = dirDoc?.children
  if (Array.isArray(children)) {
    for (const child of children) {
      if (!isRecord(child)) continue
      const name = stringValue(child.name)
      if (name !== undefined) listed.set(name, stringValue(child.pointer))
    }
  }
  const problems: string[] = []
  for (const node of indexed) {
    const name = baseName(node.path)
    if (!listed.has(name)) problems.push(`${q(name)} is not in its children list`)
    else if (listed.get(name) !== node.documentId) problems.push(`${q(name)} points at another document in its children list`)
    listed.delete(name)
  }
  for (const name of listed.keys()) problems.push(`children list names ${q(name)}, which the PathIndex does not have`)
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` and ${problems.length - 3} more` : ''
    issues.push(issue('E_TONK_VFS_INCONSISTENT', `directory ${q(dirPath)}: ${problems.slice(0, 3).join('; ')}${more}`, { path: dirPath }, 'warning'))
  }
}
