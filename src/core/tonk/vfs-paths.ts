// VFS paths as Tonk's PathIndex keys them: absolute, "/"-separated, no trailing slash, "/" the root.

/**
 * Why a PathIndex key is not a clean absolute path, or undefined. These are refused outright (a Tonk
 * runtime never writes them); names that are only awkward on some disks (":") are unpack's concern.
 */
export function vfsPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with "/"'
  if (path === '/') return 'is the root, which has no entry of its own'
  if (path.endsWith('/')) return 'must not end with "/"'
  if (path.includes('\\')) return 'must not contain a backslash'
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters'
  const segments = path.slice(1).split('/')
  if (segments.some((s) => s === '')) return 'must not contain an empty segment ("//")'
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments'
  return undefined
}

export const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/'
export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1)

/** Parent path → its items, keeping their order (one pass: listing stays linear in the tree). */
export function groupByParent<T>(items: readonly T[], pathOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const parent = parentOf(pathOf(item))
    const list = out.get(parent)
    if (list) list.push(item)
    else out.set(parent, [item])
  }
  return out
}
