// Manifest validation: the JSON schema (ajv) first, then the rules a schema cannot say (paths,
// cross-field references, version order). Returns every issue rather than stopping at the first, so
// an editor can underline them all.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import semver from 'semver'
import { legacyRootDocumentId, rootDocumentId } from '../vfs/root-document'
import { issue, q, type Issue } from './errors'
import {
  contentTypeFor,
  MANIFEST_VERSION,
  PackedManifestSchema,
  SourceManifestSchema,
  TonkP2pSchema,
  type ManifestKind,
} from './manifest'
import { collisionKey, pathProblem } from './paths'

export interface ValidateManifestOptions {
  /** 'source': a folder's authored tonk.json (computed fields optional); 'packed': inside a bundle. */
  kind: ManifestKind
}

let ajv: Ajv | undefined
const validators = new Map<ManifestKind, ValidateFunction>()

function validatorFor(kind: ManifestKind): ValidateFunction {
  let validate = validators.get(kind)
  if (!validate) {
    ajv ??= new Ajv({ allErrors: true, strict: true })
    validate = ajv.compile(kind === 'packed' ? PackedManifestSchema : SourceManifestSchema)
    validators.set(kind, validate)
  }
  return validate
}

/**
 * Checks a parsed tonk.json. Never throws; an empty array means valid.
 * Source manifests are not compared with the folder here: see validateDirectory.
 */
export function validateManifest(json: unknown, options: ValidateManifestOptions): Issue[] {
  if (isObject(json) && typeof json.manifestVersion === 'number' && json.manifestVersion !== MANIFEST_VERSION) {
    // A newer format may mean anything: say so instead of listing fields we do not understand.
    return [
      issue(
        'E_MANIFEST_VERSION',
        `manifestVersion ${json.manifestVersion} is not supported (this reader knows ${MANIFEST_VERSION}); update Tonk`,
        { pointer: '/manifestVersion' },
      ),
    ]
  }
  const validate = validatorFor(options.kind)
  const issues: Issue[] = []
  if (!validate(json)) issues.push(...(validate.errors ?? []).map((e) => schemaIssue(e, json)))
  if (isObject(json)) issues.push(...ruleIssues(json))
  return issues
}

const TONK_P2P_POINTER = '/xVendor/xTonkP2p'
let tonkP2pValidator: ValidateFunction | undefined

/** Checks a .tonk's `xVendor.xTonkP2p` (pointers into manifest.json). Never throws; [] = valid. */
export function validateTonkP2p(json: unknown): Issue[] {
  ajv ??= new Ajv({ allErrors: true, strict: true })
  tonkP2pValidator ??= ajv.compile(TonkP2pSchema)
  const issues: Issue[] = []
  if (!tonkP2pValidator(json)) {
    for (const e of tonkP2pValidator.errors ?? []) {
      const found = schemaIssue(e, json)
      const pointer = `${TONK_P2P_POINTER}${found.pointer ?? ''}`
      issues.push({ ...found, pointer, message: found.message.replace(found.pointer ? label(found.pointer) : 'the manifest', label(pointer)) })
    }
  }
  if (isObject(json) && isStrictSemver(json.protocolVersion) && isStrictSemver(json.minCompatibleVersion) && semver.gt(json.minCompatibleVersion, json.protocolVersion)) {
    issues.push(issue('E_VERSION_RANGE', `xVendor.xTonkP2p.minCompatibleVersion ${json.minCompatibleVersion} is newer than its protocolVersion ${json.protocolVersion}`, { pointer: `${TONK_P2P_POINTER}/minCompatibleVersion` }))
  }
  return issues
}

const SEMVER_POINTERS = new Set(['/version', '/sync/protocolVersion', '/sync/minCompatibleVersion', '/protocolVersion', '/minCompatibleVersion'])
const PATTERN_HINTS: Record<string, string> = {
  '/name': 'must be 1-214 lowercase characters following npm package-name rules (like "my-world" or "@me/my-world")',
  '/sync/namespace': 'must follow npm package-name rules (like "my-world")',
  '/namespace': 'must follow npm package-name rules (like "my-world")', // a .tonk's xVendor.xTonkP2p
  '/sync/bundleId': 'must be 64 lowercase hex characters (a SHA-256); delete it and let pack compute it',
  '/sync/rootDocument/documentId': 'must be an Automerge DocumentId (base58); delete it and let pack compute it',
  '/sync/discovery/mdnsService': 'must be a DNS-SD service type like "_tonk-sync._udp"',
}

function schemaIssue(error: ErrorObject, root: unknown): Issue {
  const at = error.instancePath
  switch (error.keyword) {
    case 'required': {
      const pointer = `${at}/${escapePointer(String(error.params.missingProperty))}`
      return issue('E_SCHEMA', `missing required field ${label(pointer)}`, { pointer })
    }
    case 'additionalProperties': {
      const pointer = `${at}/${escapePointer(String(error.params.additionalProperty))}`
      return issue('E_SCHEMA', `unknown field ${label(pointer)}`, { pointer })
    }
    case 'pattern': {
      const value = JSON.stringify(valueAt(root, at))
      if (SEMVER_POINTERS.has(at)) {
        return issue('E_SEMVER', `${label(at)}: ${value} is not a semantic version like 1.2.3`, { pointer: at })
      }
      const hint = PATTERN_HINTS[at] ?? `must match ${error.params.pattern}`
      return issue('E_SCHEMA', `${label(at)}: ${value} ${hint}`, { pointer: at })
    }
    case 'const':
      return issue('E_SCHEMA', `${label(at)} must be ${JSON.stringify(error.params.allowedValue)}`, { pointer: at })
    default:
      return issue('E_SCHEMA', `${label(at)} ${error.message ?? 'is invalid'}`, { pointer: at })
  }
}

function ruleIssues(m: Record<string, unknown>): Issue[] {
  const issues: Issue[] = []
  const checkPath = (path: unknown, pointer: string) => {
    if (typeof path !== 'string') return false
    const problem = pathProblem(path)
    if (problem) issues.push(issue('E_PATH_INVALID', `${q(path)} ${problem}`, { pointer, path }))
    return !problem
  }

  const listed = new Set<string>()
  if (Array.isArray(m.files)) {
    const seen = new Map<string, string>()
    m.files.forEach((entry, i) => {
      if (!isObject(entry) || typeof entry.path !== 'string') return
      const path = entry.path
      if (!checkPath(path, `/files/${i}/path`)) return
      listed.add(path)
      const key = collisionKey(path)
      const earlier = seen.get(key)
      if (earlier !== undefined) {
        const how = earlier === path ? 'is listed twice' : `collides with ${q(earlier)} on case-insensitive file systems`
        issues.push(issue('E_PATH_DUPLICATE', `${q(path)} ${how}`, { pointer: `/files/${i}/path`, path }))
      } else seen.set(key, path)
      const expected = contentTypeFor(path)
      if (typeof entry.contentType === 'string' && entry.contentType !== expected) {
        issues.push(
          issue('E_CONTENT_TYPE', `${q(path)}: contentType is ${q(entry.contentType)} but its extension implies ${q(expected)}`, {
            pointer: `/files/${i}/contentType`,
            path,
          }),
        )
      }
    })
  }

  if (Array.isArray(m.entrypoints)) {
    m.entrypoints.forEach((path, i) => {
      const pointer = `/entrypoints/${i}`
      if (checkPath(path, pointer) && Array.isArray(m.files) && !listed.has(path as string)) {
        issues.push(issue('E_ENTRYPOINT_MISSING', `entrypoint ${q(path as string)} is not a file of the bundle`, { pointer, path: path as string }))
      }
    })
  }

  const sync = isObject(m.sync) ? m.sync : undefined
  if (!sync) return issues
  const root = isObject(sync.rootDocument) ? sync.rootDocument : undefined
  if (root) {
    const pointer = '/sync/rootDocument/path'
    if (checkPath(root.path, pointer) && Array.isArray(m.files) && !listed.has(root.path as string)) {
      const path = root.path as string
      issues.push(issue('E_ROOT_DOCUMENT', `root document ${q(path)} is not a file of the bundle`, { pointer, path }))
    }
    if (typeof sync.namespace === 'string' && typeof root.documentId === 'string') {
      const expected = rootDocumentId(sync.namespace)
      if (root.documentId !== expected) {
        issues.push(
          issue(
            'E_ROOT_DOCUMENT',
            root.documentId === legacyRootDocumentId(sync.namespace)
              ? `root documentId ${root.documentId} is the one packs made before the Tonk VFS model (expected ${expected}): pack the folder again`
              : `root documentId ${root.documentId} does not belong to namespace ${q(sync.namespace)} (expected ${expected})`,
            { pointer: '/sync/rootDocument/documentId' },
          ),
        )
      }
    }
  }
  const { protocolVersion: current, minCompatibleVersion: oldest } = sync
  if (isStrictSemver(current) && isStrictSemver(oldest) && semver.gt(oldest, current)) {
    issues.push(
      issue('E_VERSION_RANGE', `sync.minCompatibleVersion ${oldest} is newer than sync.protocolVersion ${current}`, {
        pointer: '/sync/minCompatibleVersion',
      }),
    )
  }
  return issues
}

const SEMVER_REGEX = new RegExp((SourceManifestSchema.properties.version as { pattern: string }).pattern)
const isStrictSemver = (v: unknown): v is string => typeof v === 'string' && SEMVER_REGEX.test(v)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')
const unescapePointer = (key: string) => key.replace(/~1/g, '/').replace(/~0/g, '~')

/** "/files/2/path" → "files[2].path": how people name a field. */
function label(pointer: string): string {
  if (pointer === '') return 'the manifest'
  return pointer
    .slice(1)
    .split('/')
    .map(unescapePointer)
    .map((k, i) => (/^\d+$/.test(k) ? `[${k}]` : i === 0 ? k : `.${k}`))
    .join('')
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root
  for (const key of pointer.split('/').slice(1).map(unescapePointer)) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}
