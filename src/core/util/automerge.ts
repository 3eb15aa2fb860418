// Every Automerge / automerge-repo import in src goes through `@automerge/automerge-repo/slim` and this
// initializer. The WASM is read as a file where one is at hand: out/webview/automerge.wasm next to our
// bundles (out/engine.cjs, out/cli.cjs; the VSIX ships it for the preview) or the package's own
// `@automerge/automerge/automerge.wasm` (tsx, the library, the benchmark's worker). Compiling it from
// bytes takes ~45 ms here; the base64 module, the fallback that works anywhere, ~415 ms: every CLI
// command, engine load and test process paid that.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { initializeBase64Wasm, initializeWasm } from '@automerge/automerge-repo/slim'

let ready: Promise<void> | undefined

/** Automerge's WASM bytes from the first place that has them, or undefined. */
function wasmBytes(): Uint8Array | undefined {
  const places = [
    () => new URL('./webview/automerge.wasm', import.meta.url),
    () => createRequire(import.meta.url).resolve('@automerge/automerge/automerge.wasm'),
  ]
  for (const place of places) {
    try {
      return readFileSync(place())
    } catch {
      // not there (import.meta.url is a source file under tsx, or no node_modules in a VSIX): next
    }
  }
  return undefined
}

async function init(): Promise<void> {
  const bytes = wasmBytes()
  if (bytes) {
    try {
      return await initializeWasm(bytes)
    } catch {
      // A file that does not compile (a truncated copy): the base64 module below still works.
    }
  }
  const { automergeWasmBase64 } = await import('@automerge/automerge/automerge.wasm.base64')
  await initializeBase64Wasm(automergeWasmBase64)
}

/** Starts Automerge's WASM once per process; call (and await) before any Repo or Automerge call. */
export function initAutomerge(): Promise<void> {
  ready ??= init()
  return ready
}
