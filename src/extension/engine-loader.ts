// Loads out/engine.cjs (see engine.ts) on first use. activate() never calls this: the first command
// or view that needs the engine pays its parse time (~100-300 ms), once.
import type * as EngineModule from './engine'

export type Engine = typeof EngineModule

let engine: Engine | undefined

/** The engine module; throws (with the path) when out/engine.cjs is missing or fails to load. */
export function loadEngine(): Engine {
  if (engine) return engine
  // Resolved next to this bundle (out/extension.cjs). A plain `require` of a computed path: esbuild
  // leaves it alone, so the engine stays a separate file.
  const file = `${__dirname}/engine.cjs`
  const started = performance.now()
  try {
    engine = require(file) as Engine
  } catch (err) {
    throw new Error(`cannot load the Tonk engine (${file}): ${(err as Error).message}`, { cause: err })
  }
  engineLoadMs = performance.now() - started
  return engine
}

/** How long loading the engine took, in ms (0 until loaded). */
export let engineLoadMs = 0

export function engineLoaded(): boolean {
  return engine !== undefined
}
