// Where a document lives in a .tonk: samod's file-system storage layout, which Tonk's bundle export
// copies. The first storage key part (the document id) is "splayed" into its first two characters and
// the rest, as automerge-repo's NodeFS storage does, so no folder holds more than a few thousand entries:
//   storage/3X/4Q62EiCtGYZ5W1RsLMSZV8WPRZ/snapshot/bundle_export
import { isValidDocumentId } from '@automerge/automerge-repo/slim'

export const STORAGE_DIR = 'storage'
/** The one chunk Tonk's exporter writes per document: a full Automerge save. */
export const EXPORT_CHUNK = 'bundle_export'

/** samod keeps full saves under "snapshot" and single changes under "incremental"; Tonk reads both back. */
export type ChunkKind = 'snapshot' | 'incremental'

export interface StorageChunk {
  documentId: string
  kind: ChunkKind
  /** The chunk's own name (a hash, or "bundle_export"). */
  name: string
}

/** A document id as automerge-repo and samod write it: bs58check of 16 bytes. */
export const isDocumentId = (id: string): boolean => isValidDocumentId(id)

/** The zip entry name of a document's exported snapshot. */
export function snapshotEntryName(documentId: string): string {
  return `${STORAGE_DIR}/${documentId.slice(0, 2)}/${documentId.slice(2)}/snapshot/${EXPORT_CHUNK}`
}

/**
 * Reads a storage entry name back into its document id and chunk, or says why it cannot: a layout
 * problem (E_TONK_STORAGE_PATH) or a name that spells no document id (E_TONK_DOC_ID).
 */
export function parseStorageEntry(
  name: string,
): { chunk: StorageChunk } | { problem: 'E_TONK_STORAGE_PATH' | 'E_TONK_DOC_ID'; reason: string } {
  const parts = name.split('/')
  if (parts[0] !== STORAGE_DIR || parts.length !== 5) {
    return { problem: 'E_TONK_STORAGE_PATH', reason: 'is not storage/<2 characters>/<rest of the id>/<snapshot|incremental>/<name>' }
  }
  const [, splay, rest, kind, chunkName] = parts as [string, string, string, string, string]
  if (splay.length !== 2) return { problem: 'E_TONK_STORAGE_PATH', reason: `splays the id into "${splay}", not its first 2 characters` }
  if (kind !== 'snapshot' && kind !== 'incremental') {
    return { problem: 'E_TONK_STORAGE_PATH', reason: `holds a "${kind}" chunk; documents are stored as snapshot or incremental chunks` }
  }
  if (rest === '' || chunkName === '') return { problem: 'E_TONK_STORAGE_PATH', reason: 'has an empty id or chunk name' }
  const documentId = splay + rest
  if (!isDocumentId(documentId)) return { problem: 'E_TONK_DOC_ID', reason: `names "${documentId}", which is not an automerge document id` }
  return { chunk: { documentId, kind, name: chunkName } }
}
