// Path rules shared by the manifest validator, pack, the zip reader and extraction. A bundle path is
// what a browser would request ("/app/main.js"); the zip entry is the same without the leading slash.
import { MANIFEST_FILE } from './manifest'

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/

/**
 * Why `path` is not a valid bundle file path, or undefined when it is.
 * ":" is refused anywhere, not only as a drive letter: on Windows "a:b" names an alternate data stream.
 */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with "/"'
  if (path.includes('\\')) return 'must use "/" as separator, not a backslash'
  if (CONTROL_CHARS.test(path)) return 'must not contain control characters'
  if (path.includes(':')) return 'must not contain ":" (drive letters, Windows streams)'
  if (path.endsWith('/')) return 'must name a file, not end with "/"'
  const segments = path.slice(1).split('/')
  if (segments.some((s) => s === '')) return 'must not contain an empty segment ("//")'
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments'
  if (path === `/${MANIFEST_FILE}`) return `is reserved for the manifest`
  return undefined
}

/**
 * Two paths that one file system (macOS, Windows) would store as one file get the same key.
 * NFC because macOS normalizes names; lowercase because both are case-insensitive by default.
 */
export function collisionKey(path: string): string {
  return path.normalize('NFC').toLowerCase()
}

/** Sorts by UTF-8 bytes, the order bundleId and the zip use (JS string order is UTF-16 and differs). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}
