// Folder → bundle. inspectDirectory computes everything pack would write (and what is stale in the
// authored tonk.json); packDirectory refuses on any error and writes a deterministic zip.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Zip, ZipDeflate } from 'fflate'
import { createRootDocumentBytes, rootDocumentId } from '../vfs/root-document'
import { computeBundleId, canonicalJson } from './bundle-id'
import { BundleError, errorToIssue, issue, q, throwFirstError, type Issue } from './errors'
import { createIgnoreMatcher, DEFAULT_IGNORES, ignoreFileLines, type IgnoreMatcher } from './ignore'
import {
  contentTypeFor,
  MANIFEST_FILE,
  ROOT_DOCUMENT_PATH,
  type FileEntry,
  type PackedManifest,
  type SourceManifest,
} from './manifest'
import { compareUtf8, pathProblem } from './paths'
import { publisherPublicKey, signBundleId } from './publisher'
import { validateManifest } from './validate'

export interface PackOptions {
  /** Extra ignore patterns, same syntax as .tonkignore. */
  ignore?: readonly string[]
  /** Sign the bundle as this publisher (a 32-byte ed25519 seed, see publisher.ts). */
  signKey?: Uint8Array
}

export interface PackResult {
  /** The bundle: a zip with tonk.json first. Same folder → same bytes, on any machine. */
  zip: Uint8Array
  manifest: PackedManifest
  bundleId: string
}

export interface DirectoryReport {
  /** What pack would write as tonk.json; absent when the folder cannot be packed at all. */
  manifest?: PackedManifest
  /** Errors make pack refuse; warnings (stale computed fields) are fixed by packing. */
  issues: Issue[]
}

export interface DirectoryInspection extends DirectoryReport {
  /** The authored tonk.json as parsed, when it parsed. */
  source?: unknown
  /** Every file pack would put in the bundle, by bundle path (includes the root document). */
  files: Map<string, Uint8Array>
}

export const IGNORE_FILE = '.tonkignore'

/**
 * Packs a bundle folder (one with a tonk.json) into a zip. Throws the first error-severity issue of
 * {@link validateDirectory} as a BundleError; warnings (stale files/bundleId) do not stop it since pack
 * recomputes those fields.
 */
export async function packDirectory(dir: string, options: PackOptions = {}): Promise<PackResult> {
  const inspected = await inspectDirectory(dir, options)
  throwFirstError(inspected.issues)
  let manifest = inspected.manifest!
  const named = (inspected.source as SourceManifest).sync.publisher?.publicKey
  if (options.signKey) manifest = signManifest(manifest, inspected.files, options.signKey, named)
  else if (named !== undefined) {
    throw new BundleError('E_SIGNATURE', `tonk.json names publisher ${named}: pack with its key (--sign-key FILE)`, {
      pointer: '/sync/publisher',
    })
  }
  return { zip: writeBundleZip(manifest, inspected.files), manifest, bundleId: manifest.sync.bundleId }
}

/** Adds sync.publisher: the key is covered by the bundleId, so the id is computed again, then signed. */
function signManifest(
  manifest: PackedManifest,
  files: ReadonlyMap<string, Uint8Array>,
  signKey: Uint8Array,
  named: string | undefined,
): PackedManifest {
  const publicKey = publisherPublicKey(signKey)
  if (named !== undefined && named !== publicKey) {
    throw new BundleError('E_SIGNATURE', `tonk.json names publisher ${named} but the signing key is ${publicKey}`, {
      pointer: '/sync/publisher/publicKey',
    })
  }
  const signed: PackedManifest = { ...manifest, sync: { ...manifest.sync, publisher: { publicKey, signature: '' } } }
  signed.sync.bundleId = computeBundleId(signed, files)
  signed.sync.publisher!.signature = signBundleId(signKey, signed.sync.bundleId)
  return signed
}

/** Everything wrong with a folder as a bundle source, and the manifest pack would write. Never throws for content problems. */
export async function validateDirectory(dir: string, options: PackOptions = {}): Promise<DirectoryReport> {
  const { manifest, issues } = await inspectDirectory(dir, options)
  return manifest ? { manifest, issues } : { issues }
}

/** Like validateDirectory, also returning the parsed source and the files pack would write. */
export async function inspectDirectory(dir: string, options: PackOptions = {}): Promise<DirectoryInspection> {
  const files = new Map<string, Uint8Array>()
  let source: unknown
  try {
    source = await readSourceManifest(dir)
  } catch (error) {
    return { issues: [asIssue(error)], files }
  }
  const issues = sourceIssues(source)
  const nested: string[] = []
  try {
    const matchers = [
      createIgnoreMatcher(DEFAULT_IGNORES, 'default ignores'),
      createIgnoreMatcher(await readIgnoreFile(dir), IGNORE_FILE),
      createIgnoreMatcher(options.ignore ?? [], 'ignore option'),
    ]
    await walk(dir, '', (path, isDirectory) => matchers.some((m) => m(path, isDirectory)), files, nested)
  } catch (error) {
    return { source, issues: [...issues, asIssue(error)], files }
  }
  for (const folder of nested) {
    issues.push(
      issue('E_NESTED_BUNDLE', `${q(folder)} has its own ${MANIFEST_FILE}: it is another bundle, left out of this one`, { path: folder }, 'warning'),
    )
  }
  // With schema errors there is no manifest to build, but the folder can still be checked against what
  // the manifest says, so one pass lists every problem.
  if (issues.some((i) => i.severity === 'error')) return { source, issues: [...issues, ...contentIssues(source, files)], files }
  const authored = source as SourceManifest

  if (!files.has(ROOT_DOCUMENT_PATH)) {
    files.set(ROOT_DOCUMENT_PATH, await createRootDocumentBytes(authored.sync.namespace))
  }

  const manifest = buildManifest(authored, files)
  // Problems of the folder's content (bad names, missing entrypoints). Their /files pointers index the
  // computed list, not the authored one, so only the path is kept.
  for (const found of validateManifest(manifest, { kind: 'packed' })) {
    if (found.pointer?.startsWith('/files/')) delete found.pointer
    issues.push(found)
  }
  issues.push(...staleIssues(authored, manifest))
  return { source, manifest, issues, files }
}

async function readSourceManifest(dir: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw new BundleError('E_MANIFEST_MISSING', `${dir} has no ${MANIFEST_FILE}`)
    throw ioError(`cannot read ${join(dir, MANIFEST_FILE)}`, error)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new BundleError('E_MANIFEST_JSON', `${MANIFEST_FILE} is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
}

// files, sync.bundleId and sync.rootDocument are recomputed by pack, so in a folder their rule checks
// (other than shape) are replaced by the staleness comparison below.
const COMPUTED_POINTERS = /^\/(files|sync\/bundleId|sync\/rootDocument)(\/|$)/

/** What can be said of the folder's files when the manifest has errors: bad names, missing entrypoints. */
function contentIssues(source: unknown, files: Map<string, Uint8Array>): Issue[] {
  const issues: Issue[] = []
  for (const path of files.keys()) {
    const problem = pathProblem(path)
    if (problem) issues.push(issue('E_PATH_INVALID', `${q(path)} ${problem}`, { path }))
  }
  const entrypoints = typeof source === 'object' && source !== null ? (source as { entrypoints?: unknown }).entrypoints : undefined
  if (Array.isArray(entrypoints)) {
    entrypoints.forEach((path, i) => {
      if (typeof path === 'string' && !pathProblem(path) && !files.has(path) && path !== ROOT_DOCUMENT_PATH) {
        issues.push(issue('E_ENTRYPOINT_MISSING', `entrypoint ${q(path)} is not a file of the bundle`, { pointer: `/entrypoints/${i}`, path }))
      }
    })
  }
  return issues
}

function sourceIssues(source: unknown): Issue[] {
  return validateManifest(source, { kind: 'source' }).filter(
    (i) =>
      i.code === 'E_SCHEMA' ||
      (i.code !== 'E_ENTRYPOINT_MISSING' && !(i.pointer !== undefined && COMPUTED_POINTERS.test(i.pointer))),
  )
}

async function readIgnoreFile(dir: string): Promise<string[]> {
  try {
    return ignoreFileLines(await readFile(join(dir, IGNORE_FILE), 'utf8'))
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return []
    throw ioError(`cannot read ${join(dir, IGNORE_FILE)}`, error)
  }
}

/** Collects files by bundle path. Symlinks are refused, not followed: a bundle must not pull in files from outside its folder. */
async function walk(root: string, relative: string, ignored: IgnoreMatcher, out: Map<string, Uint8Array>, nested: string[]): Promise<void> {
  const absolute = join(root, relative)
  let entries
  try {
    entries = await readdir(absolute, { withFileTypes: true })
  } catch (error) {
    throw ioError(`cannot list ${absolute}`, error)
  }
  if (relative !== '' && entries.some((e) => e.name === MANIFEST_FILE && e.isFile())) {
    // A bundle folder inside this one (an example, a second app): its own bundle, not part of ours.
    nested.push(`/${relative}`)
    return
  }
  entries.sort((a, b) => compareUtf8(a.name, b.name))
  for (const entry of entries) {
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`
    // A symlink counts as a folder for "dir/" patterns, so a linked node_modules is skipped, not refused.
    if (ignored(rel, entry.isDirectory() || entry.isSymbolicLink())) continue
    const bundlePath = `/${rel}`
    if (entry.isSymbolicLink()) {
      throw new BundleError(
        'E_SOURCE_SYMLINK',
        `${q(bundlePath)} is a symbolic link; bundles hold regular files only (copy the target in, or add it to ${IGNORE_FILE})`,
        { path: bundlePath },
      )
    }
    if (entry.isDirectory()) await walk(root, rel, ignored, out, nested)
    else if (entry.isFile()) {
      try {
        out.set(bundlePath, new Uint8Array(await readFile(join(root, rel))))
      } catch (error) {
        throw ioError(`cannot read ${q(bundlePath)}`, error, bundlePath)
      }
    } else {
      throw new BundleError('E_IO', `${q(bundlePath)} is not a regular file (device, socket or pipe)`, { path: bundlePath })
    }
  }
}

/** The packed manifest, keys in a fixed, readable order (the id does not depend on it; the zip bytes do). */
function buildManifest(source: SourceManifest, files: Map<string, Uint8Array>): PackedManifest {
  const entries: FileEntry[] = [...files.keys()]
    .sort(compareUtf8)
    .map((path) => ({ path, length: files.get(path)!.length, contentType: contentTypeFor(path) }))
  const { discovery } = source.sync
  const manifest: PackedManifest = {
    manifestVersion: source.manifestVersion,
    name: source.name,
    version: source.version,
    ...(source.description !== undefined && { description: source.description }),
    entrypoints: [...source.entrypoints],
    files: entries,
    sync: {
      bundleId: '',
      ...(source.sync.appKey !== undefined && { appKey: source.sync.appKey }),
      namespace: source.sync.namespace,
      protocolVersion: source.sync.protocolVersion,
      minCompatibleVersion: source.sync.minCompatibleVersion,
      ...(source.sync.strictBuild !== undefined && { strictBuild: source.sync.strictBuild }),
      discovery: {
        mdnsService: discovery.mdnsService,
        ...(discovery.dhtKey !== undefined && { dhtKey: discovery.dhtKey }),
        bootstrapPeers: [...(discovery.bootstrapPeers ?? [])],
      },
      rootDocument: { documentId: rootDocumentId(source.sync.namespace), path: ROOT_DOCUMENT_PATH },
      ...(source.sync.allowedPeers !== undefined && { allowedPeers: [...source.sync.allowedPeers] }),
    },
  }
  manifest.sync.bundleId = computeBundleId(manifest, files)
  return manifest
}

/** Authored computed fields that pack would change: warnings, with codes an editor can offer "recompute" on. */
function staleIssues(authored: SourceManifest, packed: PackedManifest): Issue[] {
  const issues: Issue[] = []
  const stale = (message: string, pointer: string, path?: string) =>
    issues.push(issue('E_FILES_STALE', message, { pointer, path }, 'warning'))
  if (authored.files) {
    const actual = new Map(packed.files.map((f) => [f.path, f]))
    const listed = new Set<string>()
    authored.files.forEach((f, i) => {
      listed.add(f.path)
      const real = actual.get(f.path)
      if (!real) stale(`${q(f.path)} is listed in files but is not in the folder`, `/files/${i}`, f.path)
      else if (real.length !== f.length) {
        stale(`${q(f.path)}: ${real.length} bytes in the folder but files says ${f.length}`, `/files/${i}/length`, f.path)
      }
    })
    for (const f of packed.files) {
      if (listed.has(f.path)) continue
      // The root document is pack's own addition unless the folder ships one: don't claim it is in the folder.
      const where = f.path === ROOT_DOCUMENT_PATH ? 'is part of the bundle (pack adds the root document)' : 'is in the folder'
      stale(`${q(f.path)} ${where} but not listed in files`, '/files', f.path)
    }
    if (issues.length === 0 && canonicalJson(authored.files) !== canonicalJson(packed.files)) {
      stale('files differs from what pack computes (order or content types)', '/files')
    }
  }
  const authoredRoot = authored.sync.rootDocument
  if (authoredRoot && canonicalJson(authoredRoot) !== canonicalJson(packed.sync.rootDocument)) {
    issues.push(
      issue(
        'E_ROOT_DOCUMENT',
        `sync.rootDocument does not match namespace ${q(packed.sync.namespace)}; pack writes ${packed.sync.rootDocument.documentId} at ${packed.sync.rootDocument.path}`,
        { pointer: '/sync/rootDocument' },
        'warning',
      ),
    )
  }
  if (authored.sync.appKey === undefined) {
    issues.push(
      issue(
        'E_APP_KEY_MISSING',
        'sync.appKey is missing: every build of this folder will be a separate app (its peers will not sync with other builds); `tonk-p2p init --app-key DIR` adds a random one',
        { pointer: '/sync' },
        'warning',
      ),
    )
  }
  const authoredId = authored.sync.bundleId
  if (authoredId !== undefined && authoredId !== packed.sync.bundleId) {
    issues.push(
      issue(
        'E_BUNDLE_ID_STALE',
        `sync.bundleId is ${authoredId} but the folder's content hashes to ${packed.sync.bundleId}; pack writes the new one`,
        { pointer: '/sync/bundleId' },
        'warning',
      ),
    )
  }
  return issues
}

// 1980-01-01 12:00 local time: the earliest DOS date. fflate encodes dates with local-time getters, so
// a local-time constructor gives the same DOS fields in every time zone (noon stays clear of DST jumps).
// Built per pack, not once: a Date is an instant, and its local getters follow the current TZ.
const fixedMtime = () => new Date(1980, 0, 1, 12, 0, 0)
const UNIX_HOST = 3
const REGULAR_FILE_0644 = 0o100644 * 0x10000
const DEFLATE_LEVEL = 6

/**
 * Writes the zip: tonk.json first, then files in UTF-8 path order, fixed mtime, attributes and level.
 * fflate is pure JavaScript, so the deflate output (hence the zip bytes) does not depend on the
 * Node/zlib version. Its streaming Zip class is used rather than zipSync because zipSync takes an object
 * keyed by name: JS orders integer-like keys ("404") first, and a file named "__proto__" corrupts it.
 */
export function writeBundleZip(manifest: PackedManifest, files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const sorted = [...files.keys()].sort(compareUtf8).map((path): [string, Uint8Array] => [path.slice(1), files.get(path)!])
  return writeDeterministicZip([[MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n')], ...sorted])
}

/**
 * Writes entries in the order given with the fixed mtime, attributes and level above: the same entries
 * give the same bytes on any machine. The .tonk writer (src/core/tonk) shares it.
 */
export function writeDeterministicZip(entries: Iterable<readonly [name: string, data: Uint8Array]>): Uint8Array {
  const chunks: Uint8Array[] = []
  const zip = new Zip((error, data) => {
    if (error) throw error
    chunks.push(data)
  })
  const add = (name: string, data: Uint8Array) => {
    const entry = new ZipDeflate(name, { level: DEFLATE_LEVEL })
    entry.mtime = fixedMtime()
    entry.os = UNIX_HOST
    entry.attrs = REGULAR_FILE_0644
    zip.add(entry)
    entry.push(data, true) // ZipDeflate is synchronous: the chunks are in `chunks` when this returns
  }
  for (const [name, data] of entries) add(name, data)
  zip.end()
  return concat(chunks)
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

function asIssue(error: unknown): Issue {
  if (error instanceof BundleError) return errorToIssue(error)
  throw error
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code
}

export function ioError(what: string, error: unknown, path?: string): BundleError {
  const reason = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error)
  return new BundleError('E_IO', `${what}: ${reason}`, { path, cause: error })
}
