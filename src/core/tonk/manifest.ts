// manifest.json of a .tonk, as TONK_FORMAT.md (tonk-labs/tonk) specifies it and Tonk's Rust reader
// (packages/core/src/bundle.rs) parses it. Lenient where Tonk is (unknown fields are ignored, xNotes may
// be null), strict where a wrong value would mislead us (types, manifestVersion, the root id).
import { issue, type Issue } from '../bundle/errors'
import { compareUtf8 } from '../bundle/paths'
import { isDocumentId } from './storage-path'

export const TONK_MANIFEST_FILE = 'manifest.json'
export const TONK_MANIFEST_VERSION = 1

export interface TonkManifest {
  manifestVersion: 1
  /** The Tonk format version of the bundle; Tonk 0.1 writes {major: 1, minor: 0}. */
  version: { major: number; minor: number }
  /** Document id of the root: the PathIndex and the "/" directory. */
  rootId: string
  /** Application entry points, as VFS paths ("/app/index.html") or directory names ("app"). */
  entrypoints: string[]
  /** Relays (automerge-repo WebSocket servers). Optional in the spec, always written by Tonk. */
  networkUris?: string[]
  xNotes?: string | null
  /** Vendor metadata; keys start with "x" (ours will be xTonkP2p). */
  xVendor?: Record<string, unknown> | null
}

const KNOWN_FIELDS = new Set(['manifestVersion', 'version', 'rootId', 'entrypoints', 'networkUris', 'xNotes', 'xVendor'])

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')

/** Every problem of a parsed manifest.json; no error-severity issue means it is a {@link TonkManifest}. */
export function validateTonkManifest(json: unknown): Issue[] {
  if (!isObject(json)) return [issue('E_SCHEMA', `${TONK_MANIFEST_FILE} must be a JSON object`, { pointer: '' })]
  const issues: Issue[] = []
  const schema = (pointer: string, message: string) => issues.push(issue('E_SCHEMA', message, { pointer }))
  if (!Number.isSafeInteger(json.manifestVersion)) schema('/manifestVersion', 'manifestVersion must be an integer')
  else if (json.manifestVersion !== TONK_MANIFEST_VERSION) {
    issues.push(
      issue('E_MANIFEST_VERSION', `manifestVersion ${json.manifestVersion} is not supported; this reader knows ${TONK_MANIFEST_VERSION}`, {
        pointer: '/manifestVersion',
      }),
    )
  }
  const version = json.version
  if (!isObject(version) || !isCount(version.major) || !isCount(version.minor)) {
    schema('/version', 'version must be {"major": N, "minor": N} with non-negative integers')
  }
  if (typeof json.rootId !== 'string') schema('/rootId', 'rootId must be a string (the root document id)')
  else if (!isDocumentId(json.rootId)) {
    issues.push(issue('E_TONK_DOC_ID', `rootId ${JSON.stringify(json.rootId)} is not an automerge document id`, { pointer: '/rootId' }))
  }
  if (!isStringList(json.entrypoints)) schema('/entrypoints', 'entrypoints must be an array of strings')
  if (json.networkUris === undefined) {
    issues.push(
      issue('E_SCHEMA', "networkUris is missing: allowed by the spec, but Tonk's own reader refuses such a file", { pointer: '/networkUris' }, 'warning'),
    )
  } else if (!isStringList(json.networkUris)) schema('/networkUris', 'networkUris must be an array of strings')
  if (json.xNotes !== undefined && json.xNotes !== null && typeof json.xNotes !== 'string') schema('/xNotes', 'xNotes must be a string')
  if (json.xVendor !== undefined && json.xVendor !== null) {
    if (!isObject(json.xVendor)) schema('/xVendor', 'xVendor must be an object')
    else {
      for (const key of Object.keys(json.xVendor)) {
        if (!key.startsWith('x')) {
          issues.push(issue('E_SCHEMA', `xVendor key ${JSON.stringify(key)} should start with "x"`, { pointer: `/xVendor/${key}` }, 'warning'))
        }
      }
    }
  }
  for (const key of Object.keys(json)) {
    if (!KNOWN_FIELDS.has(key)) {
      issues.push(issue('E_SCHEMA', `unknown field ${JSON.stringify(key)}: ignored, and not written back`, { pointer: `/${key}` }, 'warning'))
    }
  }
  return issues
}

/**
 * manifest.json bytes: fields in the spec's order, two-space indent, a final newline, so equal
 * manifests give equal bytes. networkUris is always written (Tonk's reader requires it); null and
 * absent optional fields are left out.
 */
export function serializeTonkManifest(manifest: TonkManifest): Uint8Array {
  const out: Record<string, unknown> = {
    manifestVersion: manifest.manifestVersion,
    version: { major: manifest.version.major, minor: manifest.version.minor },
    rootId: manifest.rootId,
    entrypoints: [...manifest.entrypoints],
    networkUris: [...(manifest.networkUris ?? [])],
  }
  if (manifest.xNotes != null) out.xNotes = manifest.xNotes
  if (manifest.xVendor != null) out.xVendor = sortedKeys(manifest.xVendor)
  return new TextEncoder().encode(JSON.stringify(out, null, 2) + '\n')
}

/** Object keys in UTF-8 order at every depth (vendor metadata may arrive in any order). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (!isObject(value)) return value
  // fromEntries defines properties, so a "__proto__" key stays data and does not become the prototype.
  return Object.fromEntries(
    Object.keys(value)
      .sort(compareUtf8)
      .map((key) => [key, sortedKeys(value[key])]),
  )
}

/**
 * The relay servers a .tonk's `networkUris` name that we can bridge to: Tonk's relay speaks
 * automerge-repo's WebSocket protocol, so ws:// and wss:// as given, http(s):// as the same address
 * over ws(s)://; anything else (or unparsable, or over 2,048 characters) is left out. Never used
 * without the user's yes: a file someone sent must not make us send its documents anywhere.
 */
export function tonkRelayUris(manifest: Pick<TonkManifest, 'networkUris'>): string[] {
  const out: string[] = []
  for (const raw of manifest.networkUris ?? []) {
    if (typeof raw !== 'string' || raw.length > 2048) continue
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      continue
    }
    if (url.protocol === 'http:' || url.protocol === 'https:') url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:'
    if ((url.protocol === 'ws:' || url.protocol === 'wss:') && url.hostname && !url.username && !url.password && !out.includes(url.href)) out.push(url.href)
  }
  return out
}
