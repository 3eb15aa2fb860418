// {manifest, documents} → .tonk bytes, in the layout Tonk's exporter writes (one
// storage/<2>/<rest>/snapshot/bundle_export per document). Deterministic: equal state gives identical
// bytes. Each document is saved with its changes in a canonical order (canonical-save.ts), the manifest
// in a fixed field order, and the zip entries in UTF-8 name order with fixed times and attributes
// (writeDeterministicZip, shared with pack).
import { Automerge } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../util/automerge'
import { BundleError, issue, q, throwFirstError, type Issue } from '../bundle/errors'
import { writeDeterministicZip } from '../bundle/pack'
import { compareUtf8 } from '../bundle/paths'
import { serializeTonkManifest, TONK_MANIFEST_FILE, validateTonkManifest, type TonkManifest } from './manifest'
import { isDocumentId, snapshotEntryName } from './storage-path'
import { canonicalSave } from './canonical-save'
import { readVfs } from './vfs'

type Doc = Automerge.Doc<unknown>

export interface TonkContents {
  manifest: TonkManifest
  /** Documents by id: loaded documents or their saved bytes. Must include manifest.rootId. */
  documents: ReadonlyMap<string, Doc | Uint8Array>
}

/**
 * Writes a .tonk. Refuses (BundleError) anything this project's reader would refuse: a manifest with
 * errors, a bad document id or bytes, a missing root, a VFS with errors. Writes nothing itself.
 */
export async function writeTonk({ manifest, documents }: TonkContents): Promise<Uint8Array> {
  await initAutomerge()
  throwFirstError(validateTonkManifest(manifest))
  const issues: Issue[] = []
  const loaded = new Map<string, Doc>()
  const saved = new Map<string, Uint8Array>()
  for (const [id, value] of documents) {
    if (!isDocumentId(id)) {
      issues.push(issue('E_TONK_DOC_ID', `document id ${q(id)} is not an automerge document id`))
      continue
    }
    try {
      const doc = value instanceof Uint8Array ? Automerge.load<unknown>(value) : value
      loaded.set(id, doc)
      saved.set(id, canonicalSave(doc))
    } catch (error) {
      issues.push(issue('E_TONK_SNAPSHOT', `document ${id} is not a valid Automerge document (${(error as Error).message})`))
    }
  }
  throwFirstError(issues)
  if (!loaded.has(manifest.rootId)) {
    throw new BundleError('E_TONK_ROOT_MISSING', `no document given for rootId ${manifest.rootId}`, { pointer: '/rootId' })
  }
  throwFirstError(readVfs(manifest.rootId, loaded).issues)

  const names = [...saved.keys()].map((id): [string, string] => [snapshotEntryName(id), id]).sort((a, b) => compareUtf8(a[0], b[0]))
  return writeDeterministicZip([[TONK_MANIFEST_FILE, serializeTonkManifest(manifest)], ...names.map(([name, id]): [string, Uint8Array] => [name, saved.get(id)!])])
}
