// A stand-in for the few parts of `vitest` that automerge-repo's network adapter suite imports
// (describe/it/hooks/expect), on top of mocha and the `expect` package. vitest is not a dependency;
// register-vitest-shim.mjs maps the bare specifier here. Files that need vitest's test context (the
// storage suite) register their own, more specific mapping.
import { expect } from 'expect'

export { expect }

type Fn = () => unknown

export function describe(name: string, body: () => void): void {
  globalThis.describe(name, body)
}

export function it(name: string, fn?: Fn, timeout?: number): void {
  if (!fn) {
    globalThis.it(name)
    return
  }
  const test = globalThis.it(name, async () => void (await fn()))
  if (timeout !== undefined) test.timeout(timeout)
}

export const test = it
export const beforeAll = (fn: Fn) => globalThis.before(async () => void (await fn()))
export const afterAll = (fn: Fn) => globalThis.after(async () => void (await fn()))
export const beforeEach = (fn: Fn) => globalThis.beforeEach(async () => void (await fn()))
export const afterEach = (fn: Fn) => globalThis.afterEach(async () => void (await fn()))
