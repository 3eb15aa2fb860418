// The tonk.json manifest. These TypeBox schemas are the single source of truth: the TypeScript types
// come from them (Static<>), ajv validates with them, and schemas/tonk-manifest.schema.json (the file
// VS Code shows on hover through jsonValidation) is generated from them by scripts/gen-schema.ts.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { APP_KEY_PATTERN } from './capability'
import { HEX64_PATTERN } from '../util/text'

export const MANIFEST_VERSION = 1
export const MANIFEST_FILE = 'tonk.json'
export const ROOT_DOCUMENT_PATH = '/.tonk/root.automerge'
export const DEFAULT_MDNS_SERVICE = '_tonk-sync._udp'

// npm's package-name rule (lowercase, URL-safe, optional @scope/).
const NPM_NAME_PATTERN = '^(?:@[a-z0-9-*~][a-z0-9-*._~]*/)?[a-z0-9-~][a-z0-9-._~]*$'
// semver.org's own regex (numbered groups): the schema is also used by editors that know no semver library.
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][a-zA-Z0-9-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][a-zA-Z0-9-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$'
const BASE58_PATTERN = '^[1-9A-HJ-NP-Za-km-z]+$'
// RFC 6763: "_" + service name of at most 15 characters, then the transport.
const MDNS_SERVICE_PATTERN = '^_[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?\\._(?:udp|tcp)$'

export type ManifestKind = 'source' | 'packed'

const PATH_RULES =
  'Starts with "/", forward slashes only, no empty, "." or ".." segments, no backslash, ":" or control characters.'

const BundlePath = (description: string) =>
  Type.String({ minLength: 2, maxLength: 1024, description: `${description} ${PATH_RULES}` })

const Semver = (description: string) =>
  Type.String({ pattern: SEMVER_PATTERN, maxLength: 256, description: `${description} Semantic version, like 1.2.3.` })

export const FileEntrySchema = Type.Object(
  {
    path: BundlePath('Where the file lives in the bundle.'),
    length: Type.Integer({ minimum: 0, description: 'Size of the file in bytes.' }),
    contentType: Type.String({
      minLength: 1,
      description: 'Media type, derived from the extension (see docs/bundle-format.md); unknown extensions are application/octet-stream.',
    }),
  },
  { additionalProperties: false, description: 'One file of the bundle.' },
)

const FilesField = Type.Array(FileEntrySchema, {
  description: 'Every file of the bundle, sorted by path. Computed by pack; if you write it, it must match the folder.',
})

const BootstrapPeers = Type.Array(
  Type.String({ minLength: 1, maxLength: 4096, description: 'An iroh endpoint ticket ("endpoint…").' }),
  { description: 'iroh endpoint tickets of peers to dial at start. Pack writes [] when left out.' },
)
const discoveryFields = {
  mdnsService: Type.String({
    pattern: MDNS_SERVICE_PATTERN,
    description: `DNS-SD service type peers announce on the local network, like "${DEFAULT_MDNS_SERVICE}".`,
  }),
  dhtKey: Type.Optional(
    Type.String({ minLength: 1, maxLength: 256, description: 'Key peers announce under in the DHT. Optional.' }),
  ),
}
const discoveryOptions = { additionalProperties: false, description: 'How peers of this bundle find each other.' }

const RootDocumentSchema = Type.Object(
  {
    documentId: Type.String({
      pattern: BASE58_PATTERN,
      description: 'Automerge DocumentId of the root directory document; derived from sync.namespace.',
    }),
    path: BundlePath('Bundle file holding the root document\'s initial bytes, normally "/.tonk/root.automerge".'),
  },
  {
    additionalProperties: false,
    description: 'The root directory document every peer starts from. Computed by pack.',
  },
)

const BundleId = Type.String({
  pattern: HEX64_PATTERN,
  description:
    'SHA-256 (64 lowercase hex) of the canonical encoding of the manifest without this field and of every file. Computed by pack.',
})
const AppKey = Type.String({
  pattern: APP_KEY_PATTERN,
  description:
    'The app\'s secret: 32 random bytes (base64url). Peers prove they hold it before anything else is said, so only holders of the bundle can find or sync with its peers. Shared by every build of the app: written by `tonk-p2p init`, kept by pack. Keep it private for a private app. Left out: each build is its own app (keyed by its bundleId).',
})
const syncFields = {
  appKey: Type.Optional(AppKey),
  namespace: Type.String({
    minLength: 1,
    maxLength: 214,
    pattern: NPM_NAME_PATTERN,
    description: 'Names the data space peers share; the root document id derives from it. Same rules as name.',
  }),
  protocolVersion: Semver('Version of the sync protocol this bundle speaks.'),
  minCompatibleVersion: Semver('Oldest protocol version this bundle can sync with; at most protocolVersion.'),
  strictBuild: Type.Optional(
    Type.Boolean({
      description:
        'Sync only with peers of this exact build (same bundleId), e.g. for a published release. Left out or false: every build of the app (same appKey and namespace) syncs, so an edited folder keeps its peers.',
    }),
  ),
}
const syncOptions = { additionalProperties: false, description: 'Peer-to-peer sync settings.' }

/** An ed25519 public key or iroh endpoint id: 32 bytes as 64 lowercase hex. */
export const ED25519_KEY_PATTERN = HEX64_PATTERN
// Private bundles: only these endpoints complete the handshake. Each peer enforces the list of the
// build it runs: hand a changed list to every member (or set strictBuild so old builds are refused).
const AllowedPeers = Type.Array(
  Type.String({ pattern: ED25519_KEY_PATTERN, description: 'An iroh endpoint id (64 lowercase hex).' }),
  {
    uniqueItems: true,
    maxItems: 4096,
    description:
      'Private bundle: iroh endpoint ids allowed to sync; any other peer is refused at the handshake (E_NOT_ALLOWED). Left out: any peer with the same bundle. Optional.',
  },
)
const PublisherKey = Type.String({
  pattern: ED25519_KEY_PATTERN,
  description: "The publisher's ed25519 public key (64 lowercase hex), as `tonk-p2p keygen` prints it.",
})
const PublisherSignature = Type.String({
  pattern: '^[0-9a-f]{128}$',
  description: 'ed25519 signature (128 lowercase hex) over "tonk-bundle-signature/v1\\n" followed by the bundleId. Computed by pack --sign-key.',
})
const publisherDescription =
  'Who published this bundle; loading verifies the signature before anything else runs. Written by pack --sign-key; optional.'

const manifestFields = {
  manifestVersion: Type.Literal(MANIFEST_VERSION, { description: 'Version of this manifest format. Always 1.' }),
  name: Type.String({
    minLength: 1,
    maxLength: 214,
    pattern: NPM_NAME_PATTERN,
    description: 'Name of the app: 1-214 characters, lowercase, npm package-name rules.',
  }),
  version: Semver('Version of the app.'),
  description: Type.Optional(Type.String({ maxLength: 4096, description: 'One line about the app. Optional.' })),
  entrypoints: Type.Array(BundlePath('An HTML file of the bundle.'), {
    minItems: 1,
    uniqueItems: true,
    description: 'Files a host can open; each must be a listed file. The first is the default.',
  }),
}
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#'

/**
 * A .tonk's P2P settings, kept under its manifest's `xVendor.xTonkP2p` so the file stays valid for
 * Tonk's tools: the `sync` section of a bundle, less what a .tonk defines itself (the root is its
 * rootId, the app key derives from it, the build id is the file's hash) and less `publisher` (a
 * signature over the file that holds it cannot be), plus an app `name`. Everything optional.
 */
export const TonkP2pSchema = Type.Object(
  {
    name: Type.Optional(manifestFields.name),
    namespace: Type.Optional(syncFields.namespace),
    protocolVersion: Type.Optional(syncFields.protocolVersion),
    minCompatibleVersion: Type.Optional(syncFields.minCompatibleVersion),
    strictBuild: syncFields.strictBuild,
    discovery: Type.Optional(
      Type.Object({ mdnsService: Type.Optional(discoveryFields.mdnsService), dhtKey: discoveryFields.dhtKey, bootstrapPeers: Type.Optional(BootstrapPeers) }, discoveryOptions),
    ),
    allowedPeers: Type.Optional(AllowedPeers),
  },
  { $id: 'urn:tonk:tonk-p2p:1', additionalProperties: false, description: "A .tonk's peer-to-peer settings (manifest.json xVendor.xTonkP2p)." },
)
export type TonkP2pSettings = Static<typeof TonkP2pSchema>

/** tonk.json as a person writes it in a folder: computed fields optional. */
export const SourceManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Editor hint; dropped by pack.' })),
    ...manifestFields,
    files: Type.Optional(FilesField),
    sync: Type.Object(
      {
        bundleId: Type.Optional(BundleId),
        ...syncFields,
        discovery: Type.Object({ ...discoveryFields, bootstrapPeers: Type.Optional(BootstrapPeers) }, discoveryOptions),
        rootDocument: Type.Optional(RootDocumentSchema),
        allowedPeers: Type.Optional(AllowedPeers),
        publisher: Type.Optional(
          Type.Object(
            { publicKey: PublisherKey, signature: Type.Optional(PublisherSignature) },
            {
              additionalProperties: false,
              description: `${publisherDescription} In a folder: names the key pack must sign with (pack refuses another key).`,
            },
          ),
        ),
      },
      syncOptions,
    ),
  },
  {
    $schema: DRAFT_07,
    $id: 'urn:tonk:manifest:source:1',
    title: 'Tonk bundle manifest',
    description:
      'tonk.json of a Tonk bundle folder. files, sync.bundleId and sync.rootDocument are computed by pack and may be left out.',
    additionalProperties: false,
  },
)

/** tonk.json inside a packed bundle: every field present. */
export const PackedManifestSchema = Type.Object(
  {
    ...manifestFields,
    files: FilesField,
    sync: Type.Object(
      {
        bundleId: BundleId,
        ...syncFields,
        discovery: Type.Object({ ...discoveryFields, bootstrapPeers: BootstrapPeers }, discoveryOptions),
        rootDocument: RootDocumentSchema,
        allowedPeers: Type.Optional(AllowedPeers),
        publisher: Type.Optional(
          Type.Object(
            { publicKey: PublisherKey, signature: PublisherSignature },
            { additionalProperties: false, description: publisherDescription },
          ),
        ),
      },
      syncOptions,
    ),
  },
  {
    $schema: DRAFT_07,
    $id: 'urn:tonk:manifest:packed:1',
    title: 'Tonk bundle manifest (packed)',
    description: 'tonk.json at the root of a packed .zip bundle: every computed field present.',
    additionalProperties: false,
  },
)

export type SourceManifest = Static<typeof SourceManifestSchema>
export type PackedManifest = Static<typeof PackedManifestSchema>
export type FileEntry = Static<typeof FileEntrySchema>

/** The committed schemas/tonk-manifest.schema.json, byte for byte (TypeBox's symbol keys vanish in JSON). */
export function manifestJsonSchemaText(schema: TSchema = SourceManifestSchema): string {
  return JSON.stringify(schema, null, 2) + '\n'
}

/** Keywords that make a schema report problems; the editor schema leaves them out. */
const VALIDATION_KEYWORDS = new Set(['pattern', 'required', 'additionalProperties', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'uniqueItems', 'const', 'type', 'format'])

/**
 * The schema VS Code's JSON support gets for tonk.json (package.json jsonValidation): descriptions and
 * structure for hovers and completions, no validation keywords. The extension's own diagnostics report
 * every problem (with codes, true messages and quick fixes); a validating schema there would repeat
 * each one, a pattern error as a raw regex.
 */
export function editorSchemaText(schema: TSchema = SourceManifestSchema): string {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip)
    if (typeof node !== 'object' || node === null) return node
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as object).map(([name, sub]) => [name, strip(sub)]))
      else if (!VALIDATION_KEYWORDS.has(key)) out[key] = strip(value)
    }
    return out
  }
  const editor = strip(JSON.parse(JSON.stringify(schema))) as Record<string, unknown>
  editor.$id = `${String(editor.$id)}:editor`
  return JSON.stringify(editor, null, 2) + '\n'
}

// Kept small on purpose: the bundle's host serves these, and a browser needs the right type for
// html/js/css/wasm/fonts. Anything else is opaque bytes.
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  js: 'text/javascript',
  mjs: 'text/javascript',
  css: 'text/css',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  wasm: 'application/wasm',
  txt: 'text/plain',
  md: 'text/markdown',
  woff2: 'font/woff2',
  automerge: 'application/octet-stream',
}
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/** The contentType a bundle path implies, from its extension (case-insensitive). */
export function contentTypeFor(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return DEFAULT_CONTENT_TYPE // no extension, or a dotfile like ".env"
  return CONTENT_TYPES[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE
}

/** The content type table, for docs and tests. */
export const CONTENT_TYPE_TABLE: Readonly<Record<string, string>> = CONTENT_TYPES
