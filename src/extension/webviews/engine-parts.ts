// The engine values the webviews' host side needs, re-exported by src/extension/engine.ts so they live
// in the lazily loaded out/engine.cjs (with automerge-repo) rather than in the thin activation bundle.
// Webview host modules import these as types and get the values from loadEngine().
export { PostMessageNetworkAdapter } from '../../shared/postmessage-adapter'
export { extractBundle } from '../../core/bundle'
export { extractVfsSite, resolveSiteEntry, siteKey } from '../../core/tonk/vfs-site'
export { Automerge } from '@automerge/automerge-repo/slim'
export { applyRestore, diffPaths, historyPage, restoreTarget, valueAt } from '../../core/history/document-history'
