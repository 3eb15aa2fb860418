// Public API of the bundle format (docs/bundle-format.md). The CLI and the extension import from here only.
export { BUNDLE_ERROR_CODES, BundleError, type BundleErrorCode, type Issue } from './errors'
export {
  contentTypeFor,
  CONTENT_TYPE_TABLE,
  DEFAULT_CONTENT_TYPE,
  DEFAULT_MDNS_SERVICE,
  MANIFEST_FILE,
  MANIFEST_VERSION,
  editorSchemaText,
  manifestJsonSchemaText,
  PackedManifestSchema,
  ROOT_DOCUMENT_PATH,
  SourceManifestSchema,
  type FileEntry,
  type ManifestKind,
  type PackedManifest,
  type SourceManifest,
} from './manifest'
export { validateManifest, type ValidateManifestOptions } from './validate'
export { BUNDLE_ID_DOMAIN, canonicalJson, computeBundleId } from './bundle-id'
export { DEFAULT_IGNORES } from './ignore'
export {
  IGNORE_FILE,
  inspectDirectory,
  packDirectory,
  validateDirectory,
  type DirectoryInspection,
  type DirectoryReport,
  type PackOptions,
  type PackResult,
} from './pack'
export {
  DEFAULT_LIMITS,
  extractBundle,
  loadBundle,
  requirePublisher,
  validateBundleFile,
  type BundleLimits,
  type BundleSource,
  type BundleTrust,
  type BundleValidation,
  type LoadedBundle,
} from './load'
export {
  generatePublisherKey,
  PUBLISHER_SIGNATURE_DOMAIN,
  publisherPublicKey,
  readPublisherKey,
  signBundleId,
  verifyBundleSignature,
  writePublisherKey,
  type PublisherKeyPair,
} from './publisher'
