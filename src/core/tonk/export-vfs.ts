// The VFS of a data dir (its root and every document the PathIndex names) → .tonk bytes. Used by
// `tonk-p2p export`, on a running peer (control socket) or offline on its storage, through one handler.
import type { Automerge, AutomergeUrl, Repo } from '@automerge/automerge-repo/slim'
import type { DocTree } from '../../shared/vfs/doc-tree'
import type { TonkManifest } from './manifest'
import { writeTonk } from './write'

/** What the manifest keeps from the bundle (a .tonk's own manifest, when the data dir came from one). */
export type ExportManifestBase = Omit<TonkManifest, 'rootId' | 'manifestVersion'>

export const DEFAULT_EXPORT_MANIFEST: ExportManifestBase = { version: { major: 1, minor: 0 }, entrypoints: [], networkUris: [] }

const docIdOf = (url: string) => url.replace(/^automerge:/, '')

export async function exportVfsTonk(tree: DocTree, repo: Repo, base: ExportManifestBase = DEFAULT_EXPORT_MANIFEST): Promise<{ bytes: Uint8Array; documents: number; rootId: string }> {
  const rootId = docIdOf(tree.rootUrl)
  const urls = new Set<string>([tree.rootUrl])
  for (const e of await tree.walk()) urls.add(e.url)
  const documents = new Map<string, Automerge.Doc<unknown>>()
  for (const url of urls) {
    const handle = await repo.find(url as AutomergeUrl)
    // writeTonk re-saves in canonical change order, so equal state gives equal bytes whatever order this peer received it in.
    documents.set(docIdOf(url), handle.doc())
  }
  const manifest: TonkManifest = { manifestVersion: 1, rootId, ...base }
  return { bytes: await writeTonk({ manifest, documents }), documents: documents.size, rootId }
}
