// Stable error codes of the bundle format. The CLI prints them and the extension keys quick fixes on
// them, so a code never changes meaning; add new ones rather than reuse. docs/bundle-format.md has the table.

export const BUNDLE_ERROR_CODES = [
  // The manifest
  'E_MANIFEST_MISSING', // no tonk.json (folder or zip root), or no manifest.json in a .tonk
  'E_MANIFEST_JSON', // tonk.json is not UTF-8 JSON
  'E_MANIFEST_VERSION', // manifestVersion this reader does not know
  'E_SCHEMA', // a field is missing, unknown, of the wrong type or shape
  'E_SEMVER', // version / protocolVersion / minCompatibleVersion is not semver
  'E_VERSION_RANGE', // minCompatibleVersion > protocolVersion
  'E_PATH_INVALID', // a bundle path breaks the path rules
  'E_PATH_DUPLICATE', // two paths equal (also ignoring case and Unicode normalization)
  'E_ENTRYPOINT_MISSING', // an entrypoint is not a listed file
  'E_CONTENT_TYPE', // a listed contentType is not the one its extension implies
  'E_ROOT_DOCUMENT', // sync.rootDocument does not match the namespace or its file is absent
  // Manifest against content
  'E_FILE_MISSING', // listed in the manifest, absent from the bundle
  'E_FILE_UNLISTED', // in the bundle, absent from the manifest
  'E_FILE_LENGTH', // listed length differs from the bytes
  'E_BUNDLE_ID_MISMATCH', // a packed bundle's content does not hash to its bundleId (tampered)
  'E_SIGNATURE', // the publisher signature does not verify, is missing where a publisher is required, or pack has no/another key
  'E_FILES_STALE', // source folder: the authored files list differs from the folder (warning; pack recomputes)
  'E_BUNDLE_ID_STALE', // source folder: the authored bundleId differs from what pack computes (warning)
  'E_NESTED_BUNDLE', // source folder: a subfolder with its own tonk.json is left out of the pack (warning)
  'E_APP_KEY_MISSING', // source folder: no sync.appKey, so each build is its own app (warning; `tonk-p2p init --app-key DIR` adds one)
  // Source folder
  'E_SOURCE_SYMLINK', // pack refuses symlinks in the folder
  'E_IGNORE_SYNTAX', // .tonkignore line that can match nothing ("/", "!")
  // The zip container
  'E_ZIP_SLIP', // entry name escapes the root: "..", absolute, drive letter, backslash
  'E_ZIP_SYMLINK', // entry is a symlink
  'E_ZIP_DUPLICATE', // two entries with the same name (or same ignoring case, or a file that is also a directory)
  'E_ZIP_TOO_MANY_FILES', // more entries than limits.maxFiles
  'E_ZIP_TOO_LARGE', // an entry or the total declares more bytes than the limits
  'E_ZIP_RATIO', // an entry compresses suspiciously well (zip bomb)
  'E_ZIP_UNSUPPORTED', // encryption, multi-disk, compression method other than store/deflate, special files
  'E_ZIP_CORRUPT', // not a zip, truncated, bad CRC, sizes that lie, local/central header disagreement
  // .tonk files (Tonk's own format, docs/tonk-format.md); the manifest and zip codes above apply to them too
  'E_TONK_STORAGE_PATH', // an entry under storage/ that is not storage/<2 chars>/<rest of id>/snapshot|incremental/<name>
  'E_TONK_UNKNOWN_ENTRY', // an entry outside manifest.json and storage/ (warning: ignored, not written back)
  'E_TONK_DOC_ID', // a document id (storage path, rootId, a pointer) that is not an automerge document id
  'E_TONK_SNAPSHOT', // a storage chunk that does not load as an Automerge document
  'E_TONK_ROOT_MISSING', // no document in storage/ for the manifest's rootId
  'E_TONK_VFS', // the root document is not a PathIndex, or an entry / node has the wrong shape
  'E_TONK_PATH', // a PathIndex key that is not a clean absolute path ("..", ".", "//", backslash, control characters)
  'E_TONK_DOC_MISSING', // a PathIndex entry points at a document the file does not hold
  'E_TONK_NODE_TYPE', // the PathIndex says document and the document says directory, or the reverse
  'E_TONK_VFS_INCONSISTENT', // a directory's children list disagrees with the PathIndex (warning: the index wins, as in Tonk)
  'E_TONK_SITE_TOO_LARGE', // the app folder a preview extracts holds more than 256 MiB or 10,000 files
  // Extraction and I/O
  'E_EXTRACT_UNSAFE', // extraction would write through a symlink or over an existing file
  'E_IO', // the file system refused (not found, permission, ...)
] as const

export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number]

export interface BundleErrorOptions {
  /** The bundle file the error is about, with its leading slash (`/app.js`). */
  path?: string
  /** JSON pointer into tonk.json (`/sync/bundleId`). */
  pointer?: string
  cause?: unknown
}

/** The one error type the bundle API throws; `code` is stable, `message` is for people. */
export class BundleError extends Error {
  override readonly name = 'BundleError'
  readonly code: BundleErrorCode
  readonly path?: string
  readonly pointer?: string

  constructor(code: BundleErrorCode, message: string, options: BundleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.path !== undefined) this.path = options.path
    if (options.pointer !== undefined) this.pointer = options.pointer
  }
}

/**
 * One finding of a validation. `error` makes a bundle unloadable or unpackable; `warning` is advice
 * (a stale bundleId in a source folder: pack recomputes it anyway).
 */
export interface Issue {
  code: BundleErrorCode
  message: string
  severity: 'error' | 'warning'
  /** JSON pointer into tonk.json, when the issue is about a manifest field. */
  pointer?: string
  /** Bundle file path (`/app.js`), when the issue is about a file. */
  path?: string
}

export function issue(
  code: BundleErrorCode,
  message: string,
  where: { pointer?: string; path?: string } = {},
  severity: Issue['severity'] = 'error',
): Issue {
  const out: Issue = { code, message, severity }
  if (where.pointer !== undefined) out.pointer = where.pointer
  if (where.path !== undefined) out.path = where.path
  return out
}

export function issueToError(found: Issue): BundleError {
  return new BundleError(found.code, found.message, { path: found.path, pointer: found.pointer })
}

export function errorToIssue(error: BundleError): Issue {
  return issue(error.code, error.message, { path: error.path, pointer: error.pointer })
}

/** Throws the first error-severity issue, if any. */
export function throwFirstError(issues: readonly Issue[]): void {
  const first = issues.find((i) => i.severity === 'error')
  if (first) throw issueToError(first)
}

/** Quotes a bundle path for messages: `"/app.js"`. */
export const q = (text: string) => JSON.stringify(text)
