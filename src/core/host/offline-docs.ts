// A data dir's documents without a running peer: takes the data dir's lock (so no `serve` starts on it
// meanwhile), opens its storage in a Repo with no network, and serves the same doc operations.
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { ControlError, type ControlHandler } from './control'
import { dataDirFiles, lockDataDir, readDataDirInfo } from './data-dir'
import { OwnActors } from '../history/own-actors'
import { docHandlers } from './doc-commands'
import { keptTonkManifest } from './tonk-manifest'
import { createBundleRepo } from '../store/repo'
import { createRootDocumentBytes, legacyRootDocumentId, rootDocumentId } from '../vfs/root-document'
import { DocTree } from '../../shared/vfs/doc-tree'

export async function openOfflineDocs(dataDir: string): Promise<{ handlers: Record<string, ControlHandler>; close(): Promise<void> }> {
  const info = await readDataDirInfo(dataDir)
  if (!info) throw new ControlError('E_NO_PEER', `no peer has run in ${dataDir}: start one with tonk-p2p serve BUNDLE --data ${dataDir}`)
  const unlock = await lockDataDir(dataDir)
  const own = new OwnActors(dataDirFiles(dataDir).actors)
  await own.load()
  try {
    // The root is in storage already (a session imported it); empty initial bytes merge as a no-op. A data
    // dir last run before the Tonk model (issue 15) names the v1 root: open v2 and copy v1 into it.
    const v1 = info.rootDocumentId === legacyRootDocumentId(info.namespace)
    const bundleRepo = await createBundleRepo({
      dataDir,
      network: [],
      rootDocumentId: v1 ? rootDocumentId(info.namespace) : (info.rootDocumentId as DocumentId),
      rootDocumentBytes: v1 ? await createRootDocumentBytes(info.namespace) : new Uint8Array(),
      legacyRootDocumentId: legacyRootDocumentId(info.namespace),
    })
    const tree = new DocTree(bundleRepo.repo, bundleRepo.root, { findTimeoutMs: 2000 })
    const handlers = {
      // No peer to ask while offline: only this peer's own actors are named.
      ...docHandlers(tree, bundleRepo.repo, () => keptTonkManifest(dataDir), async (actors) =>
        Object.fromEntries(actors.filter((a) => own.has(a)).map((a) => [a, { you: true, name: 'you' } as const]))),
      ticket: async () => ({ ticket: info.ticket }),
    }
    return {
      handlers,
      close: async () => {
        await bundleRepo.close()
        await unlock()
      },
    }
  } catch (err) {
    await unlock()
    throw err
  }
}
