// The root directory document of a bundle: its id and initial bytes, derived from the namespace (node:
// crypto, so host-only; the shapes live in shapes.ts, which the webview may import).
import { createHash } from 'node:crypto'
import { Automerge, parseAutomergeUrl, stringifyAutomergeUrl, type DocumentId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../util/automerge'
import type { DirectoryDoc } from '../../shared/vfs/shapes'

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
