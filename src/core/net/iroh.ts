// The one place the iroh binding is loaded at run time, on first use, never at import: manifest tools,
// the trace and offline documents run on machines iroh has no build for (the universal VSIX), and
// activating the extension must not pay for a 20 MB native module.
//
// It picks the binary itself (the napi-rs loader in @number0/iroh/index.js would too, but fails with a
// stack about npm bugs): TONK_IROH_NATIVE (a binary you built), then `native/iroh.<key>.node` beside the
// bundle (how a VSIX carries it: out/*.cjs -> ../native), then the `@number0/iroh-<key>` package that
// npm installed. Nothing found: a NativeMissingError that says what works instead.
// Types still come from the bare name (see tsconfig `paths`).
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { nativeTarget, publishedLabels, type NativeTarget } from './native-target'

type Binding = typeof import('@number0/iroh')

export class NativeMissingError extends Error {
  constructor(
    readonly code: 'E_NATIVE_MISSING' | 'E_NATIVE_LOAD',
    message: string,
    readonly target: NativeTarget,
    /** Files looked for, in order. */
    readonly searched: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'NativeMissingError'
  }
}

/** Where the binary for this machine would be, in the order the loader tries them (existing or not). */
export function nativeCandidates(target: NativeTarget = nativeTarget()): string[] {
  const out: string[] = []
  if (process.env.TONK_IROH_NATIVE) out.push(process.env.TONK_IROH_NATIVE)
  if (!target.key) return out
  const here = import.meta.url // the bundle (out/engine.cjs, out/cli.cjs) or this source file
  out.push(fileURLToPath(new URL(`../native/iroh.${target.key}.node`, here)))
  try {
    out.push(createRequire(here).resolve(`@number0/iroh-${target.key}`))
  } catch {
    // not installed: npm skips other platforms' optional packages, and a VSIX has no node_modules
  }
  return out
}

/** The binary the loader would load, without loading it; undefined when this copy carries none. */
export function findNativeBinary(target: NativeTarget = nativeTarget()): string | undefined {
  return nativeCandidates(target).find((file) => existsSync(file))
}

let binding: Binding | undefined

/** The iroh binding; throws a NativeMissingError (never a bare stack) when this machine has none. */
export function loadIroh(): Binding {
  if (binding) return binding
  const target = nativeTarget()
  const searched = nativeCandidates(target)
  const file = searched.find((f) => existsSync(f))
  if (!file) throw new NativeMissingError('E_NATIVE_MISSING', missingMessage(target), target, searched)
  try {
    binding = createRequire(import.meta.url)(file) as Binding
  } catch (err) {
    const why = String((err as Error).message ?? err).split('\n')[0]
    throw new NativeMissingError(
      'E_NATIVE_LOAD',
      `the iroh native module for ${target.label} (${file}) does not load here: ${why}. Run \`tonk-p2p serve BUNDLE\` on a machine where it does and connect your peers to it by ticket. ${WORKS_WITHOUT}`,
      target,
      searched,
      { cause: err },
    )
  }
  return binding
}

const WORKS_WITHOUT = 'Validating, packing and reading documents offline work without it.'

function missingMessage(target: NativeTarget): string {
  const needs = `P2P sessions need the iroh native module, which this copy of Tonk P2P does not carry for ${target.label}`
  if (target.published) {
    return `${needs} (iroh.${target.key}.node): install its ${target.label} build (the VSIX for this platform, or npm with optional dependencies), or run \`tonk-p2p serve BUNDLE\` on a machine that has it and connect your peers to it by ticket. ${WORKS_WITHOUT}`
  }
  return `${needs}: iroh publishes it for ${publishedLabels()} only. Run \`tonk-p2p serve BUNDLE\` on one of those and connect your peers to it by ticket. ${WORKS_WITHOUT}`
}

/** The loader's problem on this machine, if any, without throwing (loads the binding when it is there). */
export function irohProblem(): NativeMissingError | undefined {
  try {
    loadIroh()
    return undefined
  } catch (err) {
    if (err instanceof NativeMissingError) return err
    throw err
  }
}

// The binding's classes and functions as named exports that load it on first use (a property read, a
// call or `new`), so call sites read as plain iroh code and importing this module loads nothing.
function lazy<K extends keyof Binding>(name: K): Binding[K] {
  const real = () => loadIroh()[name] as any
  return new Proxy(function () {}, {
    get: (_, prop) => {
      const value = Reflect.get(real(), prop)
      return typeof value === 'function' && prop !== 'constructor' ? value.bind(real()) : value
    },
    apply: (_, thisArg, args) => Reflect.apply(real(), thisArg, args),
    construct: (_, args) => Reflect.construct(real(), args),
    has: (_, prop) => Reflect.has(real(), prop),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  }) as unknown as Binding[K]
}

export const Endpoint = lazy('Endpoint')
export const EndpointAddr = lazy('EndpointAddr')
export const EndpointId = lazy('EndpointId')
export const EndpointTicket = lazy('EndpointTicket')
export const RelayMode = lazy('RelayMode')
export const SecretKey = lazy('SecretKey')
export const presetMinimal = lazy('presetMinimal')
export const presetN0 = lazy('presetN0')

export type {
  BiStream,
  Connection,
  Endpoint as IrohEndpoint,
  EndpointAddr as IrohEndpointAddr,
  Incoming,
  PathSnapshot,
  RecvStream,
  SendStream,
} from '@number0/iroh'
