// The engine as the extension sees it: everything from src/core the extension calls at run time.
// Built as its own file (out/engine.cjs, ~5 MB with Automerge's WASM and the iroh glue) and loaded by
// engine-loader.ts on first use, so activate() parses only the thin layer in out/extension.cjs.
// Extension code imports *types* from src/core freely, but values only through loadEngine().
export { Session } from '../core/session/session'
export { levelsFrom, RemoteSession } from '../core/session/remote/remote-session'
// The script of RemoteSession's worker thread calls this (out/engine-worker.cjs, written by esbuild.mjs).
export { runEngineWorker } from '../core/session/remote/engine-worker'
export {
  BundleError,
  inspectDirectory,
  loadBundle,
  MANIFEST_FILE,
  packDirectory,
  validateBundleFile,
  validateDirectory,
} from '../core/bundle'
export { writeBundleZip } from '../core/bundle/pack'
export { createNewBundle } from '../core/bundle/new-bundle'
export { parseDialTarget } from '../core/net/endpoint'
// P2P needs iroh's native module; the universal VSIX has none (manifest tools work without it).
export { findNativeBinary, irohProblem, NativeMissingError } from '../core/net/iroh'
export { publishedLabels } from '../core/net/native-target'
export { bootstrapHints, describeHint } from '../core/bundle/hints'
export { appCapability } from '../core/bundle/capability'
// .tonk files: validate, and serve one as a session's bundle.
export { validateTonkFile } from '../core/tonk/read'
export { tonkRelayUris } from '../core/tonk/manifest'
export { loadTonkAsBundle } from '../core/tonk/as-bundle'
// The webviews' host-side values (adapter, bundle extraction): see src/extension/webviews/engine-parts.ts.
export * from './webviews/engine-parts'
