// Public API of the .tonk format (docs/tonk-format.md): Tonk's own single-file bundles. The CLI and,
// later, the extension and the session import from here only. Errors are the bundle API's BundleError
// with E_TONK_* codes added to its table (src/core/bundle/errors.ts).
export { serializeTonkManifest, TONK_MANIFEST_FILE, TONK_MANIFEST_VERSION, tonkRelayUris, validateTonkManifest, type TonkManifest } from './manifest'
export { EXPORT_CHUNK, isDocumentId, parseStorageEntry, snapshotEntryName, STORAGE_DIR, type ChunkKind, type StorageChunk } from './storage-path'
export { loadTonk, validateTonkFile, type LoadedTonk, type TonkValidation } from './read'
export { writeTonk, type TonkContents } from './write'
export { readVfs, TonkVfs, type PathIndexLayout, type VfsFile, type VfsNode, type VfsNodeType } from './vfs'
export { vfsPathProblem } from './vfs-paths'
export { buildTonkVfs, type BuildOptions, type BuiltVfs, type VfsFileInput } from './build'
export { unpackProblem, unpackTonk, type UnpackResult } from './unpack'

/** Whether a path names a .tonk file (by its extension, as Tonk's tools do). */
export const isTonkFileName = (path: string): boolean => /\.tonk$/i.test(path)
