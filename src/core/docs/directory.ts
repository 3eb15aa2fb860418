// The keepsync directory model: one Automerge document per directory. A directory document holds its
// children by name; each child points at another document (a file-like doc or a sub-directory doc).
// Children are a map keyed by name rather than keepsync's array, so two peers that create the same name
// concurrently converge on one entry (last writer wins) instead of a duplicate.
import { createHash } from 'node:crypto'
import {
  Automerge,
  parseAutomergeUrl,
  stringifyAutomergeUrl,
  type AutomergeUrl,
  type DocumentId,
} from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../automerge'

export interface Timestamps {
  created: number
  modified: number
}

export interface DirEntry {
  type: 'doc' | 'dir'
  pointer: AutomergeUrl
  timestamps: Timestamps
}

export interface DirectoryDoc {
  type: 'dir'
  name: string
  timestamps: Timestamps
  children: Record<string, DirEntry>
}

const sha256 = (text: string) => createHash('sha256').update(text).digest()

/**
 * The root directory document's id for a bundle namespace. Derived, not random, so every peer of the
 * bundle (and every pack of it) names the same document; the bundle ships its initial bytes too.
 */
export function rootDocumentId(namespace: string): DocumentId {
  const binary = new Uint8Array(sha256(`tonk-root-document:${namespace}`).subarray(0, 16))
  return parseAutomergeUrl(stringifyAutomergeUrl(binary as never)).documentId
}

/**
 * Initial bytes of a namespace's root directory document. Deterministic (fixed actor derived from the
 * namespace, timestamp 0) so packing twice gives identical bytes and all peers share one history.
 */
export async function createRootDocumentBytes(namespace: string): Promise<Uint8Array> {
  await initAutomerge()
  const actor = sha256(`tonk-root-actor:${namespace}`).subarray(0, 16).toString('hex')
  const empty = Automerge.init<DirectoryDoc>({ actor })
  const root = Automerge.change(empty, { time: 0, message: 'create root directory' }, (d) => {
    d.type = 'dir'
    d.name = ''
    d.timestamps = { created: 0, modified: 0 }
    d.children = {}
  })
  return Automerge.save(root)
}
