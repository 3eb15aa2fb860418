// Every Automerge / automerge-repo import in src goes through `@automerge/automerge-repo/slim` and this
// initializer: the slim entry points work the same under tsx (tests), in the esbuild CJS bundles
// (extension, CLI) and in the browser, because the WASM arrives as a base64 JS module instead of a
// file looked up next to `import.meta.url` (which is empty in a CJS bundle).
import { initializeBase64Wasm } from '@automerge/automerge-repo/slim'
import { automergeWasmBase64 } from '@automerge/automerge/automerge.wasm.base64'

let ready: Promise<void> | undefined

/** Starts Automerge's WASM once per process; call (and await) before any Repo or Automerge call. */
export function initAutomerge(): Promise<void> {
  ready ??= initializeBase64Wasm(automergeWasmBase64)
  return ready
}
