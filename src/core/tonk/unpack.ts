// The VFS of a loaded .tonk → a folder on disk: every directory, and every file as its bytes (or its
// content as text / JSON, see VfsFile.data). Names that are unsafe on some disk are refused, and so is
// anything already there: every target is checked before the first write, so a refusal writes nothing
// (an unsafe name: not even the destination folder).
import { lstat, mkdir, realpath, writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { BundleError, q } from '../bundle/errors'
import { isErrno, ioError } from '../bundle/pack'
import { collisionKey, compareUtf8 } from '../bundle/paths'
import type { LoadedTonk } from './read'
import { vfsPathProblem } from './vfs-paths'

export interface UnpackResult {
  /** VFS paths written as files, in path order. */
  files: string[]
  /** VFS paths made into folders, in path order. */
  directories: string[]
  bytes: number
}

/** Why a VFS path cannot become a file name on every disk we support, or undefined. */
export function unpackProblem(path: string): string | undefined {
  const problem = vfsPathProblem(path)
  if (problem) return problem
  // ":" names a drive or an alternate data stream on Windows; a trailing dot or space is dropped there.
  if (path.includes(':')) return 'contains ":" (drive letters, Windows streams)'
  if (path.split('/').some((s) => /[. ]$/.test(s))) return 'has a name ending in "." or a space'
  return undefined
}

export async function unpackTonk(tonk: LoadedTonk, destDir: string): Promise<UnpackResult> {
  const nodes = [...tonk.vfs.nodes].sort((a, b) => compareUtf8(a.path, b.path))
  const seen = new Map<string, string>()
  for (const node of nodes) {
    const problem = unpackProblem(node.path)
    if (problem) throw new BundleError('E_EXTRACT_UNSAFE', `refusing to unpack ${q(node.path)}: it ${problem}`, { path: node.path })
    const key = collisionKey(node.path)
    const earlier = seen.get(key)
    if (earlier !== undefined) {
      throw new BundleError('E_EXTRACT_UNSAFE', `refusing to unpack ${q(node.path)}: it is the same file as ${q(earlier)} on case-insensitive disks`, {
        path: node.path,
      })
    }
    seen.set(key, node.path)
  }

  try {
    await mkdir(destDir, { recursive: true })
  } catch (error) {
    throw ioError(`cannot create ${destDir}`, error)
  }
  const root = await realpath(destDir)
  const targets = nodes.map((node) => {
    const target = resolve(root, `.${node.path}`)
    const inside = relative(root, target)
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new BundleError('E_EXTRACT_UNSAFE', `refusing to unpack ${q(node.path)}: it resolves outside ${destDir}`, { path: node.path })
    }
    return { node, target }
  })
  // Before any write: nothing may exist where a file goes, a folder may only be a real folder, and no
  // folder on the way may be a symbolic link (a VFS without its parent entries still has those folders).
  const checkedFolders = new Set<string>()
  for (const { node, target } of targets) {
    for (let dir = join(target, '..'); dir !== root && !checkedFolders.has(dir); dir = join(dir, '..')) {
      checkedFolders.add(dir)
      const stats = await lstatOrUndefined(dir, node.path)
      if (stats && !stats.isDirectory()) {
        const what = stats.isSymbolicLink() ? 'a symbolic link' : 'not a folder'
        throw new BundleError('E_EXTRACT_UNSAFE', `refusing to unpack ${q(node.path)}: ${dir} is ${what}`, { path: node.path })
      }
    }
    const existing = await lstatOrUndefined(target, node.path)
    if (!existing) continue
    if (node.type === 'directory' && existing.isDirectory()) continue
    const what = existing.isSymbolicLink() ? 'a symbolic link' : existing.isDirectory() ? 'a folder' : 'a file'
    throw new BundleError('E_EXTRACT_UNSAFE', `refusing to overwrite ${q(node.path)}: ${destDir} already has ${what} there`, { path: node.path })
  }

  const result: UnpackResult = { files: [], directories: [], bytes: 0 }
  for (const { node, target } of targets) {
    if (node.type === 'directory') {
      try {
        await mkdir(target, { recursive: true })
      } catch (error) {
        throw ioError(`cannot create ${q(node.path)}`, error, node.path)
      }
      result.directories.push(node.path)
      continue
    }
    const file = tonk.vfs.readFile(node.path)!
    try {
      await mkdir(join(target, '..'), { recursive: true })
      // "wx" = O_CREAT|O_EXCL: fails on anything that appeared since the check, a symlink included.
      await writeFile(target, file.data, { flag: 'wx' })
    } catch (error) {
      if (isErrno(error, 'EEXIST')) {
        throw new BundleError('E_EXTRACT_UNSAFE', `refusing to overwrite ${q(node.path)}: it appeared in ${destDir} while unpacking`, { path: node.path })
      }
      throw ioError(`cannot write ${q(node.path)}`, error, node.path)
    }
    result.files.push(node.path)
    result.bytes += file.data.length
  }
  return result
}

async function lstatOrUndefined(target: string, path: string) {
  try {
    return await lstat(target)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined
    // ENOTDIR: a file stands where a parent folder should be.
    if (isErrno(error, 'ENOTDIR')) {
      throw new BundleError('E_EXTRACT_UNSAFE', `refusing to unpack ${q(path)}: a file stands where one of its folders goes`, { path })
    }
    throw ioError(`cannot inspect ${target}`, error, path)
  }
}
