// Loaded by mocha (.mocharc.json node-option) before any test: maps the bare specifier `vitest`,
// which automerge-repo's conformance suites import, to test/helpers/vitest-shim.ts.
import { register } from 'node:module'

const shimUrl = new URL('./vitest-shim.ts', import.meta.url).href
const hook = `
let shimUrl
export function initialize(data) { shimUrl = data.shimUrl }
export async function resolve(specifier, context, next) {
  // Through the next resolver (tsx's), so its loader compiles the .ts.
  if (specifier === 'vitest') return next(shimUrl, context)
  return next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { shimUrl } })
