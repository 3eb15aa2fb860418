// A stand-in for the parts of `vitest` that automerge-repo's storage adapter suite uses, on top of
// mocha: vitest's *test context*. `beforeEach(ctx => teardown)` fills a per-test object and may
// return a teardown; `it(name, ctx => ...)` receives that object. (vitest is not a dependency.)
// Teardowns are awaited in an afterEach, which is stricter than vitest and what the suite needs to
// not leak temp directories.
import { expect } from 'expect'

export { expect }

type TestContext = Record<string, unknown>
type Teardown = () => unknown
type HookFn = (ctx: TestContext) => unknown
type TestFn = (ctx: TestContext) => unknown

const contexts = new WeakMap<Mocha.Runnable, TestContext>()
const teardowns = new WeakMap<Mocha.Runnable, Teardown[]>()

function contextOf(test: Mocha.Runnable | undefined): TestContext {
  if (!test) throw new Error('vitest-context-shim: no current mocha test')
  let ctx = contexts.get(test)
  if (!ctx) {
    ctx = {}
    contexts.set(test, ctx)
  }
  return ctx
}

export function beforeEach(fn: HookFn): void {
  globalThis.beforeEach(async function (this: Mocha.Context) {
    const test = this.currentTest
    const teardown = await fn(contextOf(test))
    if (typeof teardown === 'function' && test) {
      const list = teardowns.get(test) ?? []
      list.push(teardown as Teardown)
      teardowns.set(test, list)
    }
  })
  globalThis.afterEach(async function (this: Mocha.Context) {
    const test = this.currentTest
    const list = test ? teardowns.get(test) : undefined
    if (!list || !test) return
    teardowns.delete(test)
    for (const teardown of list.reverse()) await teardown()
  })
}

export function afterEach(fn: HookFn): void {
  globalThis.afterEach(async function (this: Mocha.Context) {
    await fn(contextOf(this.currentTest))
  })
}

export const beforeAll = (fn: () => unknown) => globalThis.before(async () => void (await fn()))
export const afterAll = (fn: () => unknown) => globalThis.after(async () => void (await fn()))

export function describe(name: string, body: () => void): void {
  globalThis.describe(name, body)
}

// Generic so `it<Ctx>` (an instantiation expression in the suite) type-checks; at runtime it is this function.
export function it<C extends object = TestContext>(name: string, fn?: (ctx: C) => unknown, timeout?: number): void {
  if (!fn) {
    globalThis.it(name)
    return
  }
  const test = globalThis.it(name, async function (this: Mocha.Context) {
    await fn(contextOf(this.test) as C)
  })
  if (timeout !== undefined) test.timeout(timeout)
}

export const test = it
