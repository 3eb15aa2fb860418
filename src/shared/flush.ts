// Browser-safe (no node: imports): DocTree uses it, and so can the preview's in-page repo.
import type { Repo } from '@automerge/automerge-repo/slim'

/**
 * Saves every document with changes to storage. `repo.flush()` with no ids throws "DocHandle is not
 * ready" as soon as any handle is still loading or waiting for a peer to send it (common while
 * syncing); those have nothing of ours to save, so only ready handles are flushed.
 */
export async function flushReady(repo: Repo): Promise<void> {
  const ids = Object.values(repo.handles)
    .filter((h) => h.isReady())
    .map((h) => h.documentId)
  if (ids.length > 0) await repo.flush(ids)
}
