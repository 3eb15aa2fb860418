// .tonk → manifest, Automerge documents and the VFS over them. The file is untrusted: the zip goes
// through the same reader as our own bundles (src/core/bundle/load.ts: entry count, sizes, ratio,
// names, symlinks, duplicates, CRC, local/central header agreement) before anything is parsed, and every
// problem after that is a typed issue. Reading never writes anything.
import { Automerge } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../util/automerge'
import { BundleError, errorToIssue, issue, q, throwFirstError, type Issue } from '../bundle/errors'
import { DEFAULT_LIMITS, readZip, type BundleLimits, type BundleSource } from '../bundle/load'
import { compareUtf8 } from '../bundle/paths'
import { validateTonkP2p } from '../bundle/validate'
import { TONK_MANIFEST_FILE, validateTonkManifest, type TonkManifest } from './manifest'
import { parseStorageEntry, STORAGE_DIR, type StorageChunk } from './storage-path'
import { readVfs, type TonkVfs } from './vfs'

type Doc = Automerge.Doc<unknown>

export interface LoadedTonk {
  manifest: TonkManifest
  /** Every document in storage/, by id, each merged from its chunks. */
  documents: Map<string, Doc>
  vfs: TonkVfs
  /** Bytes each document takes in storage/ (its chunks, uncompressed), by id. */
  storedBytes: Map<string, number>
  /** Size of the .tonk in bytes. */
  sizeOnDisk: number
  /** Warnings (nothing that stops loading). */
  warnings: Issue[]
}

export interface TonkValidation {
  /** The manifest, when it had the right shape (possibly with other issues). */
  manifest?: TonkManifest
  issues: Issue[]
  /** Present when no issue is an error. */
  loaded?: LoadedTonk
}

/** Reads and checks a .tonk, collecting every issue (zip-level problems stop at the first). */
export async function validateTonkFile(source: BundleSource, limits: Partial<BundleLimits> = {}): Promise<TonkValidation> {
  await initAutomerge()
  let entries: Map<string, Uint8Array>
  let sizeOnDisk: number
  try {
    ;({ entries, sizeOnDisk } = await readZip(source, { ...DEFAULT_LIMITS, ...limits }))
  } catch (error) {
    if (error instanceof BundleError) return { issues: [errorToIssue(error)] }
    throw error
  }
  const issues: Issue[] = []
  const name = typeof source === 'string' ? source : '.tonk'
  const manifest = readManifest(entries.get(TONK_MANIFEST_FILE), name, issues)
  const { documents, storedBytes } = readDocuments(entries, issues)
  if (!manifest) return { issues }
  const p2p = manifest.xVendor && typeof manifest.xVendor === 'object' ? (manifest.xVendor as Record<string, unknown>).xTonkP2p : undefined
  if (p2p !== undefined) issues.push(...validateTonkP2p(p2p))
  if (issues.some((i) => i.severity === 'error' && i.pointer === '/rootId')) return { manifest, issues }
  if (!documents.has(manifest.rootId)) {
    issues.push(issue('E_TONK_ROOT_MISSING', `${name}: no document in ${STORAGE_DIR}/ for rootId ${manifest.rootId}`, { pointer: '/rootId' }))
    return { manifest, issues }
  }
  const { vfs, issues: vfsIssues } = readVfs(manifest.rootId, documents)
  issues.push(...vfsIssues)
  if (vfs) {
    for (const [i, entrypoint] of manifest.entrypoints.entries()) {
      if (vfs.resolveEntrypoint(entrypoint) === undefined) {
        issues.push(
          issue('E_ENTRYPOINT_MISSING', `entrypoint ${q(entrypoint)} is neither a file nor a folder with index.html in the VFS`, { pointer: `/entrypoints/${i}` }, 'warning'),
        )
      }
    }
  }
  if (!vfs || issues.some((i) => i.severity === 'error')) return { manifest, issues }
  const warnings = issues.filter((i) => i.severity === 'warning')
  return { manifest, issues, loaded: { manifest, documents, vfs, storedBytes, sizeOnDisk, warnings } }
}

/** Reads a .tonk and throws its first error as a {@link BundleError}; never another error type for bad input. */
export async function loadTonk(source: BundleSource, limits: Partial<BundleLimits> = {}): Promise<LoadedTonk> {
  const report = await validateTonkFile(source, limits)
  throwFirstError(report.issues)
  return report.loaded!
}

function readManifest(raw: Uint8Array | undefined, name: string, issues: Issue[]): TonkManifest | undefined {
  if (!raw) {
    issues.push(issue('E_MANIFEST_MISSING', `${name} has no ${TONK_MANIFEST_FILE} at the zip root`))
    return undefined
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
  } catch (error) {
    issues.push(issue('E_MANIFEST_JSON', `${TONK_MANIFEST_FILE} in ${name} is not UTF-8 JSON: ${(error as Error).message}`))
    return undefined
  }
  const found = validateTonkManifest(json)
  issues.push(...found)
  // Without the right shape nothing below can be trusted to read the fields.
  if (found.some((i) => i.severity === 'error' && (i.code === 'E_SCHEMA' || i.code === 'E_MANIFEST_VERSION'))) return undefined
  return json as TonkManifest
}

/** Groups storage/ chunks by document and loads each document; every other entry is a warning. */
function readDocuments(entries: ReadonlyMap<string, Uint8Array>, issues: Issue[]) {
  const chunks = new Map<string, Array<StorageChunk & { data: Uint8Array; entry: string }>>()
  for (const [entry, data] of entries) {
    if (entry === TONK_MANIFEST_FILE) continue
    if (!entry.startsWith(`${STORAGE_DIR}/`)) {
      issues.push(issue('E_TONK_UNKNOWN_ENTRY', `${q(entry)} is neither ${TONK_MANIFEST_FILE} nor under ${STORAGE_DIR}/: ignored`, { path: `/${entry}` }, 'warning'))
      continue
    }
    const parsed = parseStorageEntry(entry)
    if ('problem' in parsed) {
      issues.push(issue(parsed.problem, `${q(entry)} ${parsed.reason}`, { path: `/${entry}` }))
      continue
    }
    const list = chunks.get(parsed.chunk.documentId) ?? []
    list.push({ ...parsed.chunk, data, entry })
    chunks.set(parsed.chunk.documentId, list)
  }
  const documents = new Map<string, Doc>()
  const storedBytes = new Map<string, number>()
  for (const [documentId, list] of chunks) {
    // Snapshots before changes, each group in name order: the merge is the same whatever the zip order.
    list.sort((a, b) => (a.kind === b.kind ? compareUtf8(a.name, b.name) : a.kind === 'snapshot' ? -1 : 1))
    const doc = loadChunks(list, issues)
    if (doc) {
      documents.set(documentId, doc)
      storedBytes.set(documentId, list.reduce((n, c) => n + c.data.length, 0))
    }
  }
  return { documents, storedBytes }
}

function loadChunks(list: ReadonlyArray<{ data: Uint8Array; entry: string }>, issues: Issue[]): Doc | undefined {
  let doc: Doc | undefined
  for (const { data, entry } of list) {
    // An empty chunk would load as an empty document: a file cut short, not a document.
    if (data.length === 0) {
      issues.push(issue('E_TONK_SNAPSHOT', `${q(entry)} is empty, not an Automerge document`, { path: `/${entry}` }))
      return undefined
    }
    try {
      doc = doc === undefined ? Automerge.load<unknown>(data) : Automerge.loadIncremental(doc, data)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      issues.push(issue('E_TONK_SNAPSHOT', `${q(entry)} is not a valid Automerge document (${reason})`, { path: `/${entry}` }))
      return undefined
    }
  }
  return doc
}
