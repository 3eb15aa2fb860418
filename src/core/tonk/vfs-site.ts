// The folder of a live VFS that holds a .tonk app (its entrypoint's folder, e.g. /app) → a folder on
// disk, for the preview webview, which loads an app's files from disk. The app's code lives in
// documents and syncs like its data: a key over the folder's paths and heads tells the preview when a
// peer changed a file of the app (reload), and names the extracted copy (equal state reuses it).
//
// Paths come from peers: every one is checked as `tonk-p2p unpack` checks them (no "..", no names a
// disk cannot hold, no case-insensitive twins) and written with O_EXCL into a fresh folder, so a
// hostile VFS can only fail the preview with a typed error, never write outside its folder.
import { createHash, randomBytes } from 'node:crypto'
import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { AutomergeUrl, Repo } from '@automerge/automerge-repo/slim'
import type { DocTree } from '../../shared/vfs/doc-tree'
import { BundleError, q } from '../bundle/errors'
import { collisionKey } from '../bundle/paths'
import { unpackProblem } from './unpack'
import { fileData } from './vfs'

/** A preview never extracts more than this (the app's own files, not its data). */
export const MAX_SITE_BYTES = 256 * 1024 * 1024
/** …nor more files than this (any member may write the app's folder: a flood of tiny files is refused). */
export const MAX_SITE_FILES = 10_000
const COMPLETE_MARKER = '.tonk-site-complete'
const SITE_PREFIX = 'vfs-'

export interface VfsSiteEntry {
  /** The VFS folder that is the site's root ("/app"), "/" for the whole VFS. */
  folder: string
  /** The entry page's VFS path ("/app/index.html"). */
  entry: string
}

export interface VfsSite extends VfsSiteEntry {
  /** Where the folder's files are on disk. */
  dir: string
  /** Of the folder's paths and heads: equal keys, equal files. */
  key: string
  files: number
}

/**
 * The page an entrypoint opens in the live VFS, as Tonk resolves it: a document path as it is, a
 * folder ("app", "/app/") through its index.html. Undefined when neither exists (yet: it may sync in).
 */
export function resolveSiteEntry(tree: DocTree, entrypoint: string): VfsSiteEntry | undefined {
  const path = entrypoint.startsWith('/') ? entrypoint : `/${entrypoint}`
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
  const node = trimmed === '/' ? undefined : tree.entry(trimmed)
  if (node?.type === 'document') return { folder: dirname(trimmed), entry: trimmed }
  const index = trimmed === '/' ? '/index.html' : `${trimmed}/index.html`
  return tree.entry(index)?.type === 'document' ? { folder: trimmed, entry: index } : undefined
}

const inside = (folder: string, path: string) => (folder === '/' ? path !== '/' : path.startsWith(`${folder}/`))

/** The folder's documents (path and url), in walk order. */
async function siteDocuments(tree: DocTree, folder: string) {
  return (await tree.walk()).filter((e) => e.type === 'doc' && inside(folder, e.path))
}

/** A key over the folder's document paths, ids and heads: it changes when any file of the app does. */
export async function siteKey(tree: DocTree, repo: Repo, folder: string): Promise<string> {
  return keyOf(await siteDocuments(tree, folder), repo, folder)
}

async function keyOf(docs: Awaited<ReturnType<typeof siteDocuments>>, repo: Repo, folder: string): Promise<string> {
  const hash = createHash('sha256').update(folder)
  for (const doc of docs) {
    const handle = await repo.find(doc.url as AutomergeUrl)
    hash.update(`\n${doc.path}\t${doc.url}\t${[...handle.heads()].sort().join(',')}`)
  }
  return hash.digest('hex')
}

/**
 * The site's files under `<root>/vfs-<key>/`, extracted once per state (an existing complete copy is
 * reused); older copies are removed. Errors: E_EXTRACT_UNSAFE (a path no disk can hold), E_TONK_SITE_TOO_LARGE.
 */
export async function extractVfsSite(
  tree: DocTree,
  repo: Repo,
  site: VfsSiteEntry,
  root: string,
  limits: { maxFiles: number; maxBytes: number } = { maxFiles: MAX_SITE_FILES, maxBytes: MAX_SITE_BYTES },
): Promise<VfsSite> {
  // One walk of the tree: the key and the copy are of the same list.
  const docs = await siteDocuments(tree, site.folder)
  const key = await keyOf(docs, repo, site.folder)
  const dir = join(root, `${SITE_PREFIX}${key.slice(0, 32)}`)
  const relativeOf = (path: string) => (site.folder === '/' ? path : path.slice(site.folder.length))
  if (!(await exists(join(dir, COMPLETE_MARKER)))) {
    if (docs.length > limits.maxFiles) throw new BundleError('E_TONK_SITE_TOO_LARGE', `the app folder ${q(site.folder)} holds ${docs.length} files (at most ${limits.maxFiles} are previewed)`)
    const seen = new Map<string, string>()
    for (const doc of docs) {
      const problem = unpackProblem(doc.path)
      if (problem) throw new BundleError('E_EXTRACT_UNSAFE', `cannot preview ${q(doc.path)}: it ${problem}`, { path: doc.path })
      const earlier = seen.get(collisionKey(doc.path))
      if (earlier) throw new BundleError('E_EXTRACT_UNSAFE', `cannot preview ${q(doc.path)}: it is the same file as ${q(earlier)} on case-insensitive disks`, { path: doc.path })
      seen.set(collisionKey(doc.path), doc.path)
    }
    await mkdir(root, { recursive: true })
    const tmp = join(root, `.tmp-${key.slice(0, 16)}-${randomBytes(4).toString('hex')}`)
    try {
      let total = 0
      for (const doc of docs) {
        const file = await tree.readFile(doc.path)
        if (!file) continue // removed while we walked: the next key will differ and extract again
        const data = fileData(file.content, file.bytes)
        total += data.length
        if (total > limits.maxBytes) throw new BundleError('E_TONK_SITE_TOO_LARGE', `the app folder ${q(site.folder)} holds more than ${limits.maxBytes} bytes`)
        const target = join(tmp, `.${relativeOf(doc.path)}`)
        await mkdir(dirname(target), { recursive: true })
        await writeFile(target, data, { flag: 'wx' })
      }
      await writeFile(join(tmp, COMPLETE_MARKER), `${new Date().toISOString()}\n`)
      await rm(dir, { recursive: true, force: true }) // an incomplete leftover
      await rename(tmp, dir)
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      if (!(await exists(join(dir, COMPLETE_MARKER)))) throw err
    }
  }
  await removeOtherSites(root, dir)
  return { ...site, dir, key, files: docs.length }
}

/** Earlier states' copies: only the current one is kept. */
async function removeOtherSites(root: string, keep: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const path = join(root, name)
    if (name.startsWith(SITE_PREFIX) && path !== keep) await rm(path, { recursive: true, force: true }).catch(() => undefined)
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}
