// The root document of a bundle: its id and initial bytes, derived from the namespace (node:crypto, so
// host-only; the shapes live in src/shared/vfs/shapes.ts, which the webview may import).
//
// v2 (now): the root is Tonk's PathIndex (shapes.ts RootDoc), at an id derived from
// `tonk-root-document:v2:<namespace>`. v1 (before issue 15): a keepsync-style directory whose children
// were a map keyed by name, at `tonk-root-document:<namespace>`. The two never share a document, so a
// peer still on v1 cannot write into v2 data; v1 data is copied once into v2 (migrate-v1.ts).
import { createHash } from 'node:crypto'
import { Automerge, parseAutomergeUrl, stringifyAutomergeUrl, type DocumentId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../util/automerge'
import type { RootDoc } from '../../shared/vfs/shapes'

const sha256 = (text: string) => createHash('sha256').update(text).digest()

/** A document id made from the first 16 bytes of a hash (how every derived id here is made). */
export function derivedDocumentId(label: string): DocumentId {
  const binary = new Uint8Array(sha256(label).subarray(0, 16))
  return parseAutomergeUrl(stringifyAutomergeUrl(binary as never)).documentId
}

/**
 * The root document's id for a bundle namespace. Derived, not random, so every peer of the bundle
 * (and every pack of it) names the same document; the bundle ships its initial bytes too.
 */
export function rootDocumentId(namespace: string): DocumentId {
  return derivedDocumentId(`tonk-root-document:v2:${namespace}`)
}

/** Where a v1 data dir kept the namespace's root (children map keyed by name); read only to migrate. */
export function legacyRootDocumentId(namespace: string): DocumentId {
  return derivedDocumentId(`tonk-root-document:${namespace}`)
}

/**
 * Initial bytes of a namespace's root: an empty PathIndex as Tonk's init_as_path_index writes it, plus
 * the "/" directory's empty children list (created here, once, rather than by whichever peer adds the
 * first child: two peers creating the list concurrently would lose one list). Deterministic (fixed
 * actor derived from the namespace, time 0) so packing twice gives identical bytes and all peers share
 * one history.
 */
export async function createRootDocumentBytes(namespace: string): Promise<Uint8Array> {
  await initAutomerge()
  const actor = sha256(`tonk-root-actor:v2:${namespace}`).subarray(0, 16).toString('hex')
  const empty = Automerge.init<RootDoc>({ actor })
  const root = Automerge.change(empty, { time: 0, message: 'create root path index' }, (d) => {
    const doc = d as unknown as Record<string, unknown>
    doc.type = new Automerge.ImmutableString('path_index')
    doc.version = 2
    doc.last_updated = 0
    doc.entries = {}
    doc.children = []
  })
  return Automerge.save(root)
}
