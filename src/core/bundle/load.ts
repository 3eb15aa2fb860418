// Zip → verified bundle. The zip is untrusted (it may come from any peer or download), so every entry is
// judged on its central-directory record *before* a byte of it is inflated: name, type, duplicates,
// declared size and compression ratio. yauzl is used because it is the strictest reader measured (see
// FACTS "Reading untrusted zips"): it refuses "..", absolute and drive-letter names itself, streams one
// entry at a time and stops an entry at the first byte past its declared size.
// Over ~400 lines: reading, judging and extracting untrusted zips is one threat surface; kept in one
// file so every check on an entry can be read in order, next to the limits it enforces.
import { lstat, mkdir, realpath, writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { crc32 } from 'node:zlib'
import yauzl, { type Entry, type ZipFile } from 'yauzl'
import { computeBundleId } from './bundle-id'
import { BundleError, errorToIssue, issue, q, throwFirstError, type Issue } from './errors'
import { MANIFEST_FILE, type PackedManifest } from './manifest'
import { isErrno, ioError } from './pack'
import { collisionKey, pathProblem } from './paths'
import { verifyBundleSignature } from './publisher'
import { validateManifest } from './validate'

const MiB = 1024 * 1024

/** Caps applied while reading a zip; see docs/bundle-format.md "Limits". */
export interface BundleLimits {
  /** Entries in the zip (files and directories, tonk.json included). */
  maxFiles: number
  /** Declared uncompressed size of one entry. */
  maxFileBytes: number
  /** Sum of declared uncompressed sizes. */
  maxTotalBytes: number
  /** Uncompressed / compressed, for entries above ratioMinBytes. */
  maxRatio: number
  /** Entries at most this large (uncompressed) are exempt from the ratio check: small text compresses well. */
  ratioMinBytes: number
}

export const DEFAULT_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxFiles: 10_000,
  maxFileBytes: 64 * MiB,
  maxTotalBytes: 256 * MiB,
  maxRatio: 200,
  ratioMinBytes: 1 * MiB,
})

export interface LoadedBundle {
  manifest: PackedManifest
  /** Every file but tonk.json, by bundle path ("/index.html"). */
  files: Map<string, Uint8Array>
  /** Verified: the content hashes to it. */
  bundleId: string
  /** Initial bytes of the root directory document (manifest.sync.rootDocument.path). */
  rootDocumentBytes: Uint8Array
  /** Size of the zip in bytes. */
  sizeOnDisk: number
}

/** What the loader must see beyond a well-formed bundle. */
export interface BundleTrust {
  /** Refuse (E_SIGNATURE) unless the bundle is signed by this ed25519 public key (64 hex). */
  requirePublisher?: string
}

/** A path to a .zip, or its bytes. */
export type BundleSource = string | Uint8Array

export interface BundleValidation {
  /** The manifest, when it parsed and had the right shape (possibly with other issues). */
  manifest?: PackedManifest
  issues: Issue[]
}

/**
 * Reads and verifies a bundle: zip safety and limits, manifest, file set, lengths, content types, root
 * document and bundleId. Throws the first problem as a {@link BundleError}; never another error type
 * for bad input.
 */
export async function loadBundle(
  source: BundleSource,
  limits: Partial<BundleLimits> = {},
  trust: BundleTrust = {},
): Promise<LoadedBundle> {
  const { entries, sizeOnDisk } = await readZip(source, { ...DEFAULT_LIMITS, ...limits })
  const checked = checkContents(entries, describe(source), trust)
  throwFirstError(checked.issues)
  const manifest = checked.manifest!
  return {
    manifest,
    files: checked.files,
    bundleId: manifest.sync.bundleId,
    rootDocumentBytes: checked.files.get(manifest.sync.rootDocument.path)!,
    sizeOnDisk,
  }
}

/** Like loadBundle but collects every content issue instead of throwing (zip-level problems stop at the first). */
export async function validateBundleFile(source: BundleSource, limits: Partial<BundleLimits> = {}): Promise<BundleValidation> {
  let entries: Map<string, Uint8Array>
  try {
    ;({ entries } = await readZip(source, { ...DEFAULT_LIMITS, ...limits }))
  } catch (error) {
    if (error instanceof BundleError) return { issues: [errorToIssue(error)] }
    throw error
  }
  const { manifest, issues } = checkContents(entries, describe(source))
  return manifest ? { manifest, issues } : { issues }
}

const describe = (source: BundleSource) => (typeof source === 'string' ? source : 'bundle')

// ---------------------------------------------------------------------------------------------------
// The zip container

const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const S_IFREG = 0o100000
const S_IFDIR = 0o040000

export interface ZipContents {
  /** Zip entry name (no leading slash) → bytes; directories left out. */
  entries: Map<string, Uint8Array>
  sizeOnDisk: number
}

/** Reads every file entry of an untrusted zip under the limits; the .tonk reader (src/core/tonk) shares it. */
export async function readZip(source: BundleSource, limits: BundleLimits): Promise<ZipContents> {
  const zip = await openZip(source)
  return new Promise<ZipContents>((resolvePromise, reject) => {
    const entries = new Map<string, Uint8Array>()
    const names = new Map<string, string>() // collision key → first name seen
    const directories = new Map<string, string>() // collision key of every directory → its name
    let totalBytes = 0
    let settled = false
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      zip.close()
      reject(toBundleError(error))
    }
    zip.on('error', fail)
    zip.on('end', () => {
      if (settled) return
      try {
        refuseFileDirectoryClash(entries, directories)
      } catch (error) {
        return fail(error)
      }
      settled = true
      resolvePromise({ entries, sizeOnDisk: zip.fileSize })
    })
    zip.on('entry', (entry: Entry) => {
      if (settled) return
      admit(entry)
        .then(() => {
          if (!settled) zip.readEntry()
        })
        .catch(fail)
    })
    // The count comes from the end-of-central-directory record: refuse before reading any entry.
    if (zip.entryCount > limits.maxFiles) {
      return fail(
        new BundleError('E_ZIP_TOO_MANY_FILES', `the zip has ${zip.entryCount} entries; a bundle may have at most ${limits.maxFiles}`),
      )
    }
    zip.readEntry()

    // Everything up to readEntryData decides from the central directory alone: nothing is inflated yet.
    async function admit(entry: Entry): Promise<void> {
      const name = entry.fileName
      const isDirectory = name.endsWith('/')
      const path = `/${isDirectory ? name.slice(0, -1) : name}`
      if (name !== MANIFEST_FILE) {
        const problem = pathProblem(path)
        if (problem) throw new BundleError('E_PATH_INVALID', `zip entry ${q(name)}: ${q(path)} ${problem}`, { path })
      }
      const type = (entry.externalFileAttributes >>> 16) & S_IFMT
      if (type === S_IFLNK) {
        throw new BundleError('E_ZIP_SYMLINK', `zip entry ${q(name)} is a symbolic link; bundles hold regular files only`, { path })
      }
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
        throw new BundleError('E_ZIP_UNSUPPORTED', `zip entry ${q(name)} is a special file (mode ${type.toString(8)})`, { path })
      }
      const key = collisionKey(path)
      if (isDirectory) {
        directories.set(key, path)
        return // directories carry nothing: a file's path implies its folders
      }
      const earlier = names.get(key)
      if (earlier !== undefined) {
        const how = earlier === path ? 'appears twice in the zip' : `collides with ${q(earlier)} on case-insensitive file systems`
        throw new BundleError('E_ZIP_DUPLICATE', `zip entry ${q(path)} ${how}`, { path })
      }
      names.set(key, path)
      if (entry.isEncrypted()) throw new BundleError('E_ZIP_UNSUPPORTED', `${q(path)} is encrypted`, { path })
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw new BundleError('E_ZIP_UNSUPPORTED', `${q(path)} uses compression method ${entry.compressionMethod}; bundles use deflate or store`, { path })
      }
      const size = entry.uncompressedSize
      if (size > limits.maxFileBytes) {
        throw new BundleError('E_ZIP_TOO_LARGE', `${q(path)} is ${formatBytes(size)} uncompressed, more than the ${formatBytes(limits.maxFileBytes)} allowed per file`, { path })
      }
      totalBytes += size
      if (totalBytes > limits.maxTotalBytes) {
        throw new BundleError('E_ZIP_TOO_LARGE', `the bundle's files add up to more than ${formatBytes(limits.maxTotalBytes)} uncompressed (at ${q(path)})`, { path })
      }
      if (size > limits.ratioMinBytes && size > limits.maxRatio * entry.compressedSize) {
        const ratio = entry.compressedSize === 0 ? '∞' : Math.round(size / entry.compressedSize).toString()
        throw new BundleError('E_ZIP_RATIO', `${q(path)} inflates ${ratio}:1 (${formatBytes(entry.compressedSize)} → ${formatBytes(size)}), above the ${limits.maxRatio}:1 allowed: a zip bomb?`, { path })
      }
      entries.set(name, await readEntryData(zip, entry, path))
    }
  })
}

function openZip(source: BundleSource): Promise<ZipFile> {
  const options: yauzl.Options = {
    lazyEntries: true,
    autoClose: true,
    decodeStrings: true,
    strictFileNames: true, // a backslash is an error, not silently a separator
    validateEntrySizes: true, // an entry that inflates past its declared size errors at that byte
  }
  return new Promise((resolvePromise, reject) => {
    const done = (error: Error | null, zip: ZipFile) => (error ? reject(toBundleError(error, source)) : resolvePromise(zip))
    try {
      if (typeof source === 'string') yauzl.open(source, options, done)
      else yauzl.fromBuffer(Buffer.from(source.buffer, source.byteOffset, source.byteLength), options, done)
    } catch (error) {
      reject(toBundleError(error, source))
    }
  })
}

async function readEntryData(zip: ZipFile, entry: Entry, path: string): Promise<Uint8Array> {
  // The local header's name must be the central directory's: readers that trust the other one would
  // see a different file (a known way to smuggle content past a check).
  const local = await zip.readLocalFileHeaderPromise(entry)
  if (!local.fileName.equals(entry.fileNameRaw)) {
    throw new BundleError('E_ZIP_CORRUPT', `${q(path)}: the local header names ${q(local.fileName.toString('utf8'))}`, { path })
  }
  const stream = await zip.openReadStreamPromise(entry)
  const data = await collect(stream, path)
  if (crc32(data) !== entry.crc32) {
    throw new BundleError('E_ZIP_CORRUPT', `${q(path)}: CRC-32 check failed, the zip is damaged`, { path })
  }
  return data
}

function collect(stream: Readable, path: string): Promise<Uint8Array> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', (error) => {
      stream.destroy()
      reject(toBundleError(error, undefined, path))
    })
    stream.on('end', () => resolvePromise(new Uint8Array(Buffer.concat(chunks))))
  })
}

/** A file "a" next to "a/b" (or "A/b") cannot be extracted: "a" would be both a file and a folder. */
function refuseFileDirectoryClash(entries: Map<string, Uint8Array>, directories: Map<string, string>) {
  const fileKeys = new Map([...entries.keys()].map((name) => [collisionKey(`/${name}`), `/${name}`]))
  for (const name of entries.keys()) {
    const segments = `/${name}`.split('/')
    for (let i = 2; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/')
      directories.set(collisionKey(dir), dir)
    }
  }
  for (const [key, dir] of directories) {
    const file = fileKeys.get(key)
    if (file !== undefined) {
      throw new BundleError('E_ZIP_DUPLICATE', `${q(file)} is both a file and a folder (${q(dir)}/…) in the zip`, { path: file })
    }
  }
}

/** Maps what reading the zip can raise (yauzl, zlib, fs; our own BundleErrors pass through) to codes. */
function toBundleError(error: unknown, source?: BundleSource, path?: string): BundleError {
  if (error instanceof BundleError) return error
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const at = path ? `${q(path)}: ` : ''
  const slip = /^(invalid characters in fileName|absolute path|invalid relative path): (.*)$/s.exec(message)
  if (slip) {
    return new BundleError('E_ZIP_SLIP', `zip entry ${q(slip[2]!)} points outside the bundle folder (${slip[1]})`, { cause: error })
  }
  if (/too many bytes in the stream|not enough bytes in the stream/.test(message)) {
    return new BundleError('E_ZIP_CORRUPT', `${at}inflates to a different size than the zip declares (${message})`, { path, cause: error })
  }
  if (/encryption|encrypted|multi-disk|unsupported compression/.test(message)) {
    return new BundleError('E_ZIP_UNSUPPORTED', `${at}${message}`, { path, cause: error })
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return ioError(typeof source === 'string' ? `cannot read ${source}` : 'cannot read the bundle', error, path)
  }
  return new BundleError('E_ZIP_CORRUPT', `${at}not a valid zip: ${message}`, { path, cause: error })
}

// ---------------------------------------------------------------------------------------------------
// The content

function checkContents(
  entries: Map<string, Uint8Array>,
  bundleName: string,
  trust: BundleTrust = {},
): { manifest?: PackedManifest; files: Map<string, Uint8Array>; issues: Issue[] } {
  const files = new Map<string, Uint8Array>()
  for (const [name, data] of entries) if (name !== MANIFEST_FILE) files.set(`/${name}`, data)

  const raw = entries.get(MANIFEST_FILE)
  if (!raw) return { files, issues: [issue('E_MANIFEST_MISSING', `${bundleName} has no ${MANIFEST_FILE} at the zip root`)] }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
  } catch (error) {
    return { files, issues: [issue('E_MANIFEST_JSON', `${MANIFEST_FILE} in ${bundleName} is not UTF-8 JSON: ${(error as Error).message}`)] }
  }
  const issues = validateManifest(json, { kind: 'packed' })
  // Without the right shape nothing below can be trusted to read the fields.
  if (issues.some((i) => i.code === 'E_SCHEMA' || i.code === 'E_MANIFEST_VERSION')) return { files, issues }
  const manifest = json as PackedManifest

  const listed = new Set<string>()
  for (const entry of manifest.files) {
    listed.add(entry.path)
    const data = files.get(entry.path)
    if (!data) {
      issues.push(issue('E_FILE_MISSING', `${q(entry.path)} is listed in the manifest but not in the bundle`, { path: entry.path }))
    } else if (data.length !== entry.length) {
      issues.push(
        issue('E_FILE_LENGTH', `${q(entry.path)}: ${data.length} bytes in the bundle but the manifest says ${entry.length}`, {
          path: entry.path,
        }),
      )
    }
  }
  for (const path of files.keys()) {
    if (!listed.has(path)) issues.push(issue('E_FILE_UNLISTED', `${q(path)} is in the bundle but not listed in the manifest`, { path }))
  }
  const actual = computeBundleId(manifest, files)
  if (actual !== manifest.sync.bundleId) {
    issues.push(
      issue(
        'E_BUNDLE_ID_MISMATCH',
        `${manifest.name}@${manifest.version} (${bundleName}) does not match its bundleId ${manifest.sync.bundleId}: ` +
          `a file or a manifest field changed after packing (the content hashes to ${actual})`,
        { pointer: '/sync/bundleId' },
      ),
    )
  }
  issues.push(...publisherIssues(manifest, bundleName, trust))
  return { manifest, files, issues }
}

/** Throws E_SIGNATURE unless a loaded (hence verified) bundle is signed by `publicKey`. */
export function requirePublisher(bundle: LoadedBundle, publicKey: string): void {
  throwFirstError(publisherIssues(bundle.manifest, bundle.manifest.name, { requirePublisher: publicKey }))
}

/** A signature that does not verify is an error even when nobody requires a publisher: it is a lie. */
function publisherIssues(manifest: PackedManifest, bundleName: string, trust: BundleTrust): Issue[] {
  const publisher = manifest.sync.publisher
  const { bundleId } = manifest.sync
  if (publisher && !verifyBundleSignature(publisher.publicKey, bundleId, publisher.signature)) {
    return [
      issue('E_SIGNATURE', `${bundleName}: the publisher signature does not verify for key ${publisher.publicKey} (forged or tampered)`, {
        pointer: '/sync/publisher/signature',
      }),
    ]
  }
  const required = trust.requirePublisher?.toLowerCase()
  if (required !== undefined && publisher?.publicKey !== required) {
    const actual = publisher ? `is signed by ${publisher.publicKey}` : 'is not signed'
    return [issue('E_SIGNATURE', `${bundleName} ${actual}, but publisher ${required} is required`, { pointer: '/sync/publisher' })]
  }
  return []
}

// ---------------------------------------------------------------------------------------------------
// Extraction

/**
 * Writes a loaded bundle's files, and its tonk.json, under destDir (created if missing) and nowhere
 * else: every target is checked to stay inside destDir, no existing symlink is followed and no existing
 * file is overwritten (E_EXTRACT_UNSAFE). All paths are checked before the first write.
 */
export async function extractBundle(bundle: LoadedBundle, destDir: string): Promise<void> {
  const manifestBytes = new TextEncoder().encode(JSON.stringify(bundle.manifest, null, 2) + '\n')
  const writes: Array<[string, Uint8Array]> = [[`/${MANIFEST_FILE}`, manifestBytes], ...bundle.files]
  for (const [path] of writes.slice(1)) {
    const problem = pathProblem(path)
    if (problem) throw new BundleError('E_ZIP_SLIP', `refusing to extract ${q(path)}: it ${problem}`, { path })
  }
  try {
    await mkdir(destDir, { recursive: true })
  } catch (error) {
    throw ioError(`cannot create ${destDir}`, error)
  }
  const root = await realpath(destDir)
  const targets = writes.map(([path, data]) => {
    const target = resolve(root, `.${path}`)
    const inside = relative(root, target)
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new BundleError('E_ZIP_SLIP', `refusing to extract ${q(path)}: it resolves outside ${destDir}`, { path })
    }
    return { path, data, segments: inside.split(/[\\/]/) }
  })
  for (const { path, data, segments } of targets) {
    let dir = root
    for (const segment of segments.slice(0, -1)) {
      dir = join(dir, segment)
      await ensureRealDirectory(dir, path)
    }
    try {
      // "wx" = O_CREAT|O_EXCL: fails on any existing entry, a symlink (even dangling) included.
      await writeFile(join(dir, segments.at(-1)!), data, { flag: 'wx' })
    } catch (error) {
      if (isErrno(error, 'EEXIST')) {
        throw new BundleError('E_EXTRACT_UNSAFE', `refusing to overwrite ${q(path)}: it already exists in ${destDir}`, { path })
      }
      throw ioError(`cannot write ${q(path)}`, error, path)
    }
  }
}

async function ensureRealDirectory(dir: string, path: string): Promise<void> {
  try {
    const stats = await lstat(dir)
    if (stats.isDirectory()) return
    const what = stats.isSymbolicLink() ? 'a symbolic link' : 'not a folder'
    throw new BundleError('E_EXTRACT_UNSAFE', `refusing to extract ${q(path)}: ${dir} is ${what}`, { path })
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error instanceof BundleError ? error : ioError(`cannot inspect ${dir}`, error, path)
  }
  try {
    await mkdir(dir)
  } catch (error) {
    throw ioError(`cannot create ${dir}`, error, path)
  }
}

export function formatBytes(n: number): string {
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`
  return `${n} bytes`
}
