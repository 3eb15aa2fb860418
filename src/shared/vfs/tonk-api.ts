// Tonk's own VFS API (the names @tonk/core's TonkCore offers: packages/core/src/wasm.rs in
// tonk-labs/tonk) over our DocTree, so an app written for Tonk runs in the preview unchanged:
// `window.tonk.readFile('/notes/a')`, `setFile`, `watchDirectory`… Isomorphic (the preview page and
// library users). Results follow Tonk's: booleans where Tonk returns them, `null` for a missing file,
// watchers with `stop()`; errors are DocPathError with a code rather than Tonk's strings.
import { Automerge, type AutomergeUrl, type DocHandle, type Repo } from '@automerge/automerge-repo/slim'
import { DocPathError, type DocTree, type VfsDocument } from './doc-tree'
import { toPlain } from './values'

export type TonkNodeType = 'document' | 'directory'

/** A directory entry as Tonk's listDirectory/getMetadata give it (a RefNode). */
export interface TonkRefNode {
  name: string
  type: TonkNodeType
  /** The document id of the file or directory. */
  pointer: string
  timestamps: { created: number; modified: number }
}

/** What watchDocument/watchDirectory resolve to: Tonk's DocumentWatcher. */
export interface TonkWatcher {
  documentId(): string
  stop(): Promise<void>
}

export interface TonkVfsApi {
  createFile(path: string, content: unknown): Promise<boolean>
  createFileWithBytes(path: string, content: unknown, bytes: Uint8Array): Promise<boolean>
  readFile(path: string): Promise<VfsDocument | null>
  setFile(path: string, content: unknown): Promise<boolean>
  setFileWithBytes(path: string, content: unknown, bytes: Uint8Array): Promise<boolean>
  updateFile(path: string, content: unknown): Promise<boolean>
  patchFile(path: string, jsonPath: string[], value: unknown): Promise<boolean>
  spliceText(path: string, jsonPath: string[], index: number, deleteCount: number, insert: string): Promise<boolean>
  deleteFile(path: string): Promise<boolean>
  createDirectory(path: string): Promise<boolean>
  listDirectory(path: string): Promise<TonkRefNode[]>
  rename(from: string, to: string): Promise<boolean>
  exists(path: string): Promise<boolean>
  getMetadata(path: string): Promise<TonkRefNode>
  watchDocument(path: string, callback: (doc: unknown) => void): Promise<TonkWatcher>
  /** Our alias of watchDocument (Tonk's docs call a document a file). */
  watchFile(path: string, callback: (doc: unknown) => void): Promise<TonkWatcher>
  watchDirectory(path: string, callback: (dir: unknown) => void): Promise<TonkWatcher>
}

const docIdOf = (url: string) => url.replace(/^automerge:/, '')
const listingType = (type: 'doc' | 'dir'): TonkNodeType => (type === 'dir' ? 'directory' : 'document')

/** Sets `value` at `jsonPath` inside `target`, making the maps on the way. */
function setAt(target: Record<string, unknown>, jsonPath: readonly string[], value: unknown): void {
  if (jsonPath.length === 0) throw new TypeError('patchFile needs a path inside the content, e.g. ["title"]')
  let at = target
  for (const key of jsonPath.slice(0, -1)) {
    const next = at[key]
    if (!next || typeof next !== 'object' || Array.isArray(next)) at[key] = {}
    at = at[key] as Record<string, unknown>
  }
  at[jsonPath[jsonPath.length - 1]!] = structuredClone(value)
}

export function tonkVfsApi(tree: DocTree, repo: Repo): TonkVfsApi {
  async function watch(path: string, kind: TonkNodeType, callback: (doc: unknown) => void): Promise<TonkWatcher> {
    if (typeof callback !== 'function') throw new TypeError('a watcher needs a callback')
    const url = await tree.resolve(path)
    const entry = path === '/' ? undefined : tree.entry(path)
    if (!url || (path !== '/' && entry?.type !== kind)) throw new DocPathError('NOT_FOUND', path, `no ${kind} to watch`)
    const handle: DocHandle<unknown> = await repo.find(url as AutomergeUrl)
    const onChange = () => {
      let doc: unknown
      try {
        doc = toPlain(handle.doc()) // plain JSON, as Tonk's watchers pass it (AutoSerde)
      } catch {
        return // nests deeper than any file we read (MAX_CONTENT_DEPTH): not passed on
      }
      callback(doc)
    }
    handle.on('change', onChange)
    return {
      documentId: () => docIdOf(url),
      stop: async () => void handle.off('change', onChange),
    }
  }

  const api: TonkVfsApi = {
    async createFile(path, content) {
      if (await tree.exists(path)) throw new DocPathError('INVALID_PATH', path, 'already exists')
      await tree.writeFile(path, content)
      return true
    },
    async createFileWithBytes(path, content, bytes) {
      if (await tree.exists(path)) throw new DocPathError('INVALID_PATH', path, 'already exists')
      await tree.writeFile(path, content, bytes)
      return true
    },
    readFile: async (path) => (await tree.readFile(path)) ?? null,
    async setFile(path, content) {
      await tree.writeFile(path, content)
      return true
    },
    async setFileWithBytes(path, content, bytes) {
      await tree.writeFile(path, content, bytes)
      return true
    },
    async updateFile(path, content) {
      if (tree.entry(path)?.type !== 'document') return false
      await tree.writeFile(path, content)
      return true
    },
    async patchFile(path, jsonPath, value) {
      if (tree.entry(path)?.type !== 'document') return false
      await tree.changeDoc<Record<string, unknown>>(path, (content) => setAt(content, jsonPath, value))
      return true
    },
    async spliceText(path, jsonPath, index, deleteCount, insert) {
      if (tree.entry(path)?.type !== 'document') return false
      if (jsonPath.length === 0) throw new TypeError('spliceText needs the path of a text inside the content')
      await tree.changeDoc<Record<string, unknown>>(path, (content) => {
        const parent = jsonPath.slice(0, -1).reduce<any>((at, key) => at?.[key], content)
        const key = jsonPath[jsonPath.length - 1]!
        const current = parent?.[key]
        if (typeof current !== 'string') throw new DocPathError('INVALID_PATH', path, `${jsonPath.join('.')} is not a text`)
        // A collaborative text: a splice, so concurrent edits of other parts of it merge.
        Automerge.splice(content as Automerge.Doc<unknown>, jsonPath, index, deleteCount, insert)
      })
      return true
    },
    deleteFile: (path) => tree.rm(path),
    async createDirectory(path) {
      await tree.mkDir(path)
      return true
    },
    async listDirectory(path) {
      return (await tree.ls(path)).map((e) => ({ name: e.name, type: listingType(e.type), pointer: docIdOf(e.url), timestamps: { ...e.timestamps } }))
    },
    async rename(from, to) {
      if (!(await tree.exists(from))) return false
      await tree.rename(from, to)
      return true
    },
    exists: (path) => tree.exists(path),
    async getMetadata(path) {
      const entry = tree.entry(path)
      if (!entry) throw new DocPathError('NOT_FOUND', path, 'no such file or directory')
      return { name: entry.path.slice(entry.path.lastIndexOf('/') + 1), type: entry.type, pointer: entry.docId, timestamps: { created: entry.created, modified: entry.modified } }
    },
    watchDocument: (path, callback) => watch(path, 'document', callback),
    watchFile: (path, callback) => watch(path, 'document', callback),
    watchDirectory: (path, callback) => watch(path, 'directory', callback),
  }
  return api
}
