// The document operations behind `tonk-p2p doc …`: served over a running peer's control socket, or run
// in-process on a data dir's storage when no peer owns it. One table, so both paths behave the same.
import { Automerge, type AutomergeUrl, type Repo } from '@automerge/automerge-repo/slim'
import { DocPathError, type DocTree } from '../../shared/vfs/doc-tree'
import { applyRestore, diffPaths, historyPage, HistoryError, parseHeads, restoreTarget, valueAt } from '../history/document-history'
import { ControlError, type ControlHandler } from './control'
import { contentOf, isRecord, text } from '../../shared/vfs/values'
import type { PathDiff } from '../history/document-history'
import type { ActorName } from '../session/types'
import { BundleError } from '../bundle/errors'
import { isAbsolute } from 'node:path'
import { writeReplacing } from '../store/durable-fs'
import { DEFAULT_EXPORT_MANIFEST, exportVfsTonk, type ExportManifestBase } from '../tonk/export-vfs'

// A file is a Tonk DocNode {type: "document", name, timestamps, content, bytes?} (src/shared/vfs/shapes.ts):
// time travel shows, compares and restores its content, as `doc get` does; name and times are bookkeeping.
const isDocNode = (v: unknown): v is { content: unknown } => isRecord(v) && text(v.type) === 'document' && 'content' in v
const fileValue = (v: unknown): unknown => (isDocNode(v) ? contentOf(v.content) : v)
function contentDiff(diff: PathDiff): PathDiff {
  const inContent = (paths: string[]) =>
    paths.filter((p) => p === '/content' || p.startsWith('/content/')).map((p) => p.slice('/content'.length) || '/')
  return { added: inContent(diff.added), removed: inContent(diff.removed), changed: inContent(diff.changed) }
}

function wrap(err: unknown): never {
  if (err instanceof DocPathError) throw new ControlError(`E_DOC_${err.code}`, err.message)
  if (err instanceof HistoryError) throw new ControlError(err.code, err.message)
  throw err
}

/** The handle of the document at `path`; E_DOC_NOT_FOUND when nothing is there. */
async function handleAt(tree: DocTree, repo: Repo, path: string) {
  const url = await tree.resolve(path).catch(wrap)
  if (!url) throw new ControlError('E_DOC_NOT_FOUND', `no document at ${path}`)
  return repo.find<Record<string, unknown>>(url as AutomergeUrl)
}

const pageNumber = (v: unknown, fallback: number): number => (Number.isInteger(v) ? (v as number) : fallback)

/** `exportBase`: the manifest fields export keeps (a .tonk's own, when the data dir came from one). */
/** Names the peers behind Automerge actors (Session.actorNames; offline: this peer's own only). */
export type ActorNamer = (actors: string[]) => Promise<Record<string, ActorName>>

export function docHandlers(tree: DocTree, repo: Repo, exportBase?: () => Promise<ExportManifestBase | undefined>, actorNames?: ActorNamer): Record<string, ControlHandler> {
  return {
    ls: async ({ path }: { path: string }) => tree.ls(path ?? '/').catch(wrap),
    get: async ({ path, at }: { path: string; at?: string | string[] }) => {
      if (at !== undefined) {
        const handle = await handleAt(tree, repo, path)
        try {
          const heads = parseHeads(at)
          return { path, url: handle.url, heads, value: fileValue(valueAt(handle.doc(), heads)) }
        } catch (err) {
          wrap(err)
        }
      }
      const url = await tree.resolve(path).catch(wrap)
      if (!url) throw new ControlError('E_DOC_NOT_FOUND', `no document at ${path}`)
      const file = await tree.readFile(path).catch(wrap)
      const handle = await repo.find(url)
      const result: Record<string, unknown> = { path, url, heads: handle.heads(), value: file?.content }
      // A raw file (a DocNode with bytes) travels as base64: the control socket speaks JSON.
      if (file?.bytes) result.bytes = Buffer.from(file.bytes).toString('base64')
      return result
    },
    // The whole VFS as a .tonk: written to `output` (an absolute path: the socket is the owner's alone,
    // in the 0700 data dir, so the caller may name any file it could write itself; no size limit), else
    // returned as base64 (the socket speaks JSON lines of at most 16 MiB).
    export: async ({ output }: { output?: unknown } = {}) => {
      if (output !== undefined && (typeof output !== 'string' || !isAbsolute(output))) throw new ControlError('E_USAGE', 'output must be an absolute path')
      try {
        const r = await exportVfsTonk(tree, repo, (await exportBase?.()) ?? DEFAULT_EXPORT_MANIFEST)
        if (output !== undefined) {
          await writeReplacing(output, r.bytes)
          return { rootId: r.rootId, documents: r.documents, output, size: r.bytes.length }
        }
        return { rootId: r.rootId, documents: r.documents, bytes: Buffer.from(r.bytes).toString('base64') }
      } catch (err) {
        if (err instanceof BundleError) throw new ControlError(err.code, err.message)
        throw err
      }
    },
    history: async ({ path, offset, limit }: { path: string; offset?: number; limit?: number }) => {
      const handle = await handleAt(tree, repo, path)
      const page = historyPage(handle.doc(), pageNumber(offset, 0), pageNumber(limit, 100))
      const names = actorNames ? await actorNames([...new Set(page.changes.map((c) => c.actor))]) : {}
      return { path, url: handle.url, ...page, changes: page.changes.map((c) => (names[c.actor] ? { ...c, by: names[c.actor] } : c)) }
    },
    diff: async ({ path, from, to }: { path: string; from: string | string[]; to?: string | string[] }) => {
      const handle = await handleAt(tree, repo, path)
      try {
        const fromHeads = parseHeads(from)
        const toHeads = to === undefined ? Automerge.getHeads(handle.doc()) : parseHeads(to)
        const diff = diffPaths(handle.doc(), fromHeads, toHeads)
        return { path, from: fromHeads, to: toHeads, ...(isDocNode(handle.doc()) ? contentDiff(diff) : diff) }
      } catch (err) {
        wrap(err)
      }
    },
    restore: async ({ path, at }: { path: string; at: string | string[] }) => {
      const handle = await handleAt(tree, repo, path)
      let writes = 0
      try {
        const heads = parseHeads(at)
        const old = restoreTarget(handle.doc(), heads)
        const message = `restore to ${heads.map((h) => h.slice(0, 8)).join(',')}`
        if (isDocNode(handle.doc()) && isDocNode(old) && isRecord(old.content)) {
          const content = old.content
          handle.change((d) => {
            if (!isRecord(d.content)) d.content = {}
            writes = applyRestore(d.content as Record<string, unknown>, content)
          }, { message })
        } else handle.change((d) => void (writes = applyRestore(d, old)), { message })
      } catch (err) {
        wrap(err)
      }
      await tree.flush()
      return { path, url: handle.url, heads: Automerge.getHeads(handle.doc()), writes }
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
    // A raw file (`doc put --file`): bytes as base64 (the socket speaks JSON), content {mime}, as Tonk keeps app files.
    'put-file': async ({ path, bytes, mime }: { path: string; bytes: unknown; mime: unknown }) => {
      if (typeof bytes !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) throw new ControlError('E_DOC_VALUE', 'bytes must be base64')
      if (typeof mime !== 'string' || !/^[\w.+-]+\/[\w.+-]+(;[^\n]{0,200})?$/.test(mime)) throw new ControlError('E_DOC_VALUE', 'mime must be a content type, e.g. text/html')
      const url = await tree.writeFile(path, { mime }, new Uint8Array(Buffer.from(bytes, 'base64'))).catch(wrap)
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
