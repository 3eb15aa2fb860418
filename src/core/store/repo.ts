// One automerge-repo Repo per bundle: crash-safe storage under `<dataDir>/storage` and the bundle's
// root directory document, whose id and initial bytes come from the bundle so that every peer shares
// one history for it (two peers creating "the same" root independently would conflict forever).
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import {
  Automerge,
  Repo,
  type DocHandle,
  type DocumentId,
  type NetworkAdapterInterface,
  type PeerId,
  type SharePolicy,
  type StorageId,
} from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../util/automerge'
import type { RootDoc } from '../../shared/vfs/shapes'
import { migrateV1Tree } from '../vfs/migrate-v1'
import { noopLogger, type Logger } from '../../shared/log'
import { RequestGate, takesMessageGate, type RequestGateOptions } from '../protocols/sync/request-gate'
import { CrashSafeStorageAdapter } from './storage'

export interface BundleRepoOptions {
  /** Per-bundle data directory; documents live in `<dataDir>/storage`. */
  dataDir: string
  network: NetworkAdapterInterface[]
  peerId?: PeerId
  rootDocumentId: DocumentId
  /**
   * The bundle's initial root bytes (createRootDocumentBytes); merged in on every start (a no-op when
   * the stored history has them). May be empty only when the root is already in storage.
   */
  rootDocumentBytes: Uint8Array
  /**
   * Where a v1 data dir kept its tree (legacyRootDocumentId(namespace)): copied once into the root
   * (src/core/vfs/migrate-v1.ts). Left out, nothing is migrated.
   */
  legacyRootDocumentId?: DocumentId
  logger?: Logger
  sharePolicy?: SharePolicy
  /** Gossip remote heads so `repo.subscribeToRemotes` works for peers not directly connected. */
  enableRemoteHeadsGossiping?: boolean
  /** automerge-repo's save throttle in ms (default 100). */
  saveDebounceRate?: number
  /** Tuning of the gate that answers requests for documents we do not hold (request-gate.ts). */
  requestGate?: RequestGateOptions
}

export interface BundleRepo {
  repo: Repo
  root: DocHandle<RootDoc>
  storage: CrashSafeStorageAdapter
  /** This repo's automerge-repo storage id: persisted in storage, so stable across restarts. */
  storageId: StorageId
  /** Answers peers' requests for documents we do not hold, in front of the Repo (installed on every adapter that takes it). */
  requests: RequestGate
  /** Best-effort shutdown: disconnects adapters, saves every document, never throws. */
  close(): Promise<void>
}

const STORAGE_ID_KEY = ['storage-adapter-id']

/**
 * Writes automerge-repo's storage id before the Repo exists. On a fresh directory the Repo would
 * otherwise ask for it twice at once (for its peer metadata and for storageId()), mint two ids, and
 * announce one to peers while storing the other.
 */
export async function ensureStorageId(storage: CrashSafeStorageAdapter): Promise<void> {
  if (await storage.load(STORAGE_ID_KEY)) return
  await storage.save(STORAGE_ID_KEY, new TextEncoder().encode(randomUUID()))
}

export async function createBundleRepo(options: BundleRepoOptions): Promise<BundleRepo> {
  await initAutomerge()
  const log = options.logger ?? noopLogger
  const storage = new CrashSafeStorageAdapter(join(options.dataDir, 'storage'), { logger: log })
  await ensureStorageId(storage)
  const repo = new Repo({
    storage,
    network: options.network,
    peerId: options.peerId,
    sharePolicy: options.sharePolicy,
    enableRemoteHeadsGossiping: options.enableRemoteHeadsGossiping,
    saveDebounceRate: options.saveDebounceRate,
  })
  // Installed before anything awaits: the Repo connects its adapters (and so receives messages) only
  // once its peer metadata resolves. ensureStorageId above built the storage's index of names.
  const requests = new RequestGate(repo, storage, options.requestGate)
  for (const adapter of options.network) if (takesMessageGate(adapter)) adapter.setMessageGate(requests.check)
  const storageId = (await repo.storageId())!
  const rootId = options.rootDocumentId

  // Look in storage ourselves: repo.find() of a document that is not stored waits for every network
  // adapter to be ready and then asks peers, which is slow and pointless for the root we ship.
  const stored =
    (await storage.loadRange([rootId, 'snapshot'])).length + (await storage.loadRange([rootId, 'incremental'])).length
  let root: DocHandle<RootDoc>
  if (stored > 0) {
    root = await repo.find<RootDoc>(rootId)
    // A no-op when the history is intact; restores the initial changes if a stored chunk was set aside.
    root.update((doc) => Automerge.loadIncremental(doc, options.rootDocumentBytes))
    log.info(`docs: root ${rootId} loaded from storage (${stored} chunks)`)
  } else {
    // Empty bytes would make an empty, typeless root that every later merge builds on: refuse.
    if (options.rootDocumentBytes.length === 0) {
      throw new Error(`root document ${rootId} is not in ${join(options.dataDir, 'storage')} and no initial bytes were given`)
    }
    root = repo.import<RootDoc>(options.rootDocumentBytes, { docId: rootId })
    log.info(`docs: root ${rootId} imported from the bundle's initial bytes`)
  }
  // The root is on disk before anyone builds on it.
  await repo.flush([rootId])
  if (options.legacyRootDocumentId) {
    // Before any peer or app sees the tree; a failure is retried at the next start (no marker yet).
    try {
      await migrateV1Tree({ repo, storage, root, legacyRootId: options.legacyRootDocumentId, logger: log })
    } catch (error) {
      log.warn(`docs: copying the v1 tree failed, will retry at the next start: ${String(error)}`)
    }
  }
  log.debug(`docs: storage id ${storageId}`)

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      requests.stop()
      for (const adapter of options.network) if (takesMessageGate(adapter)) adapter.setMessageGate(undefined)
      try {
        await repo.shutdown()
      } catch (error) {
        log.warn(`docs: repo shutdown: ${String(error)}`)
      }
      try {
        await storage.flush()
      } catch (error) {
        log.warn(`docs: storage flush: ${String(error)}`)
      }
    })())

  return { repo, root, storage, storageId, requests, close }
}
