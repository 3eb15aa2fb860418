// The document operations behind `tonk-p2p doc …`: served over a running peer's control socket, or run
// in-process on a data dir's storage when no peer owns it. One table, so both paths behave the same.
import type { Repo } from '@automerge/automerge-repo/slim'
import { ControlError, type ControlHandler } from './control'
import { DocPathError, type DocTree } from '../../shared/vfs/doc-tree'

function wrap(err: unknown): never {
  if (err instanceof DocPathError) throw new ControlError(`E_DOC_${err.code}`, err.message)
  throw err
}

export function docHandlers(tree: DocTree, repo: Repo): Record<string, ControlHandler> {
  return {
    ls: async ({ path }: { path: string }) => tree.ls(path ?? '/').catch(wrap),
    get: async ({ path }: { path: string }) => {
      const url = await tree.resolve(path).catch(wrap)
      if (!url) throw new ControlError('E_DOC_NOT_FOUND', `no document at ${path}`)
      const value = await tree.readDoc(path).catch(wrap)
      const handle = await repo.find(url)
      return { path, url, heads: handle.heads(), value }
    },
    put: async ({ path, value }: { path: string; value: unknown }) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ControlError('E_DOC_VALUE', 'a document is a JSON object, e.g. {"title":"hello"}')
      }
      const url = await tree.writeDoc(path, value as Record<string, unknown>).catch(wrap)
      // Acknowledged = on disk: the reply waits until storage has fsynced the change.
      await tree.flush()
      const handle = await repo.find(url)
      return { path, url, heads: handle.heads() }
    },
    rm: async ({ path }: { path: string }) => {
      const removed = await tree.rm(path).catch(wrap)
      await tree.flush()
      return { path, removed }
    },
    watch: async ({ path, count }: { path: string; count?: number }, ctx) => {
      let seen = 0
      let stop!: () => void
      const done = new Promise<void>((resolve) => (stop = resolve))
      const unsubscribe = tree.listen(path, (value, url) => {
        ctx.emit({ path, url, value })
        if (count !== undefined && ++seen >= count) stop()
      })
      await Promise.race([done, ctx.closed])
      unsubscribe()
      return { path, events: seen }
    },
  }
}
