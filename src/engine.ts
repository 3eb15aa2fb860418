// The engine as a library (issue 16): the one public entry point for Node/Electron/Tauri apps,
// published as `tonk-p2p/engine`. An app builds a stock automerge-repo `Repo` with our network and
// storage adapters, or runs a whole `Session` for a bundle. Names exported here are a public contract:
// they stay stable when files under src/core move (only the paths below change).
export {
  IrohNetworkAdapter,
  CLOSE_CODE,
  type IrohNetworkAdapterOptions,
  type IrohAdapterEvents,
  type PeerInfo,
  type PeerConnectionState,
  type PeerRefusedEvent,
  type PeerClosedEvent,
} from './core/net/iroh-adapter'
export {
  createEndpoint,
  closeEndpoint,
  endpointIdOf,
  endpointTicket,
  makeTicket,
  parseDialTarget,
  loadOrCreateSecretKey,
  EndpointError,
  TONK_SYNC_ALPN,
  type CreateEndpointOptions,
  type DialTarget,
} from './core/net/endpoint'
export { NativeMissingError, irohProblem, type IrohEndpoint, type IrohEndpointAddr } from './core/net/iroh'
export { HANDSHAKE_VERSION, type HelloInfo, type RefusalCode } from './core/net/handshake'
export { appCapability, deriveKey, newAppKey, type AppCapability } from './core/bundle/capability'
export {
  CrashSafeStorageAdapter,
  StorageKeyError,
  type CrashSafeStorageOptions,
  type StorageStats,
} from './core/store/storage'
export {
  DocTree,
  DocPathError,
  normalizeDocPath,
  type DocPathErrorCode,
  type DocTreeOptions,
  type DocContent,
  type DirListing,
  type WalkEntry,
} from './shared/vfs/doc-tree'
export { tonkVfsApi, type TonkVfsApi, type TonkRefNode, type TonkWatcher } from './shared/vfs/tonk-api'
// .tonk files: read, validate, write; a .tonk as a session's bundle.
export { loadTonk, validateTonkFile, writeTonk, type LoadedTonk, type TonkManifest } from './core/tonk'
export { loadTonkAsBundle } from './core/tonk/as-bundle'
export type { DirectoryDoc, DirNode, DocNode, NodeType, PathEntry, RefNode, RootDoc, Timestamps } from './shared/vfs/shapes'
export {
  Session,
  type SessionOptions,
  type SessionState,
  type SessionSnapshot,
  type SessionEvents,
  type PeerSnapshot,
  type DocumentSnapshot,
  type DocSyncState,
} from './core/session/session'
export {
  BUNDLE_ERROR_CODES,
  BundleError,
  loadBundle,
  packDirectory,
  validateDirectory,
  validateBundleFile,
  validateManifest,
  computeBundleId,
  type BundleErrorCode,
  type Issue,
  type LoadedBundle,
  type PackOptions,
  type PackResult,
  type PackedManifest,
  type SourceManifest,
} from './core/bundle'
// A Session on a worker thread (an app's UI or main thread never waits for the engine); its worker script
// is dist/engine/engine-worker.cjs, which calls runEngineWorker().
export { levelsFrom, RemoteSession, type RemoteSessionOptions } from './core/session/remote/remote-session'
export { runEngineWorker } from './core/session/remote/engine-worker'
export type { DocPeer, EngineCalls, EngineMethod } from './core/session/remote/protocol'
export { initAutomerge } from './core/util/automerge'
export { noopLogger, type Logger } from './shared/log'
