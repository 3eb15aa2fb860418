// Benchmark-only: loads the built extension (out/extension.cjs) in a fresh Node process with a minimal
// stand-in for the `vscode` module and calls activate(). Prints {loadMs, activateMs, reported} as JSON.
// The stand-in is a recursive Proxy: every property is a callable object whose calls return another
// one (so `commands.registerCommand(...)` returns something with a `dispose`). It does no work, so the
// numbers are the extension's own cost: module evaluation plus activate(), without VS Code's overhead.
'use strict'
const Module = require('node:module')
const path = require('node:path')

// What a call returns is also a thenable resolving to undefined (VS Code's show*Message, etc. return
// promises); a property read is not (so `await ctx.something` does not hang or recurse).
function stub(name, thenable = false) {
  const fn = function () {}
  const assigned = new Map() // what the extension stores on a stub (e.g. `item.label = …`) reads back
  return new Proxy(fn, {
    set(_t, prop, value) {
      assigned.set(prop, value)
      return true
    },
    get(_t, prop) {
      if (assigned.has(prop)) return assigned.get(prop)
      if (prop === Symbol.toPrimitive) return () => `[vscode stub ${name}]`
      if (prop === 'then') return thenable ? (resolve) => resolve(undefined) : undefined
      if (prop === Symbol.iterator) return function* () {}
      return stub(`${name}.${String(prop)}`)
    },
    apply: () => stub(`${name}()`, true),
    construct: () => stub(`new ${name}`),
  })
}

// esbuild's `import * as vscode` copies the module's own keys, so the top level is a plain object with
// every `vscode.X` name the bundle uses (read from its text; any other name still resolves to a stub).
const file = path.resolve(process.argv[2] || path.join(__dirname, '..', 'out', 'extension.cjs'))
const names = new Set(['window', 'commands', 'workspace', 'Uri', 'EventEmitter', 'Disposable'])
for (const m of require('node:fs').readFileSync(file, 'utf8').matchAll(/\bvscode\d*\.([A-Za-z_$][\w$]*)/g)) names.add(m[1])
const vscode = new Proxy(Object.fromEntries([...names].map((n) => [n, stub(n)])), {
  get: (t, p) => (p in t ? t[p] : typeof p === 'string' ? stub(p) : undefined),
})
const load = Module._load
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode
  return load.call(this, request, parent, isMain)
}

const t0 = performance.now()
const ext = require(file)
const t1 = performance.now()
const subscriptions = []
const context = new Proxy(
  { subscriptions, extensionPath: path.dirname(path.dirname(file)), extensionUri: stub('extensionUri'), globalState: stub('globalState'), workspaceState: stub('workspaceState'), globalStorageUri: stub('globalStorageUri'), storageUri: undefined, logUri: stub('logUri'), extensionMode: 1 },
  { get: (t, p) => (p in t ? t[p] : stub(`context.${String(p)}`)) },
)
Promise.resolve(ext.activate(context)).then(
  (r) => {
    const t2 = performance.now()
    console.log(JSON.stringify({ loadMs: t1 - t0, activateMs: t2 - t1, reported: r && r.activationMs }))
    process.exit(0)
  },
  (err) => {
    console.log(JSON.stringify({ error: String((err && err.stack) || err) }))
    process.exit(1)
  },
)
