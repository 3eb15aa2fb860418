// Reading and writing Tonk's VFS values from JavaScript, in host and webview alike (no node: imports).
// Tonk writes with Rust's automerge, where a plain string is a scalar: Automerge JS hands those back as
// ImmutableString, while a string written by JS is Text and arrives as a plain string. Names, types and
// ids must be scalars for Tonk's reader, so we write them with `scalar`.
import { Automerge } from '@automerge/automerge-repo/slim'

/** Deeper content is refused rather than walked: a hostile document must not exhaust the stack. */
export const MAX_CONTENT_DEPTH = 256

/** A map (an ImmutableString, bytes or a list is not). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  !(value instanceof Uint8Array) &&
  !Automerge.isImmutableString(value)

/** A string field, whichever way it was stored; undefined for anything else. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Automerge.isImmutableString(value)) return value.toString()
  return undefined
}

/** A millisecond timestamp (Tonk writes i64 milliseconds); 0 when absent. */
export const millis = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

/** A string as Rust writes it (a scalar, not Text); typed as string so it fits the shapes. */
export const scalar = (value: string): string => new Automerge.ImmutableString(value) as unknown as string

/** Automerge values as plain JSON-like data: ImmutableStrings become strings, counters numbers, bytes stay. */
export function toPlain(value: unknown, depth = 0): unknown {
  if (Automerge.isImmutableString(value)) return value.toString()
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value
  if (depth >= MAX_CONTENT_DEPTH) throw new RangeError(`content nests deeper than ${MAX_CONTENT_DEPTH} levels`)
  if (Automerge.isCounter(value)) return value.value
  if (value instanceof Date) return value.getTime()
  if (Array.isArray(value)) return value.map((v) => toPlain(v, depth + 1))
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v, depth + 1)]))
}

/**
 * A DocNode's content as an app sees it, as Tonk's reader does: a primitive stored as {value: X} is
 * unwrapped, and content kept as a JSON string (Tonk before autumn 2025) is parsed back.
 */
export function contentOf(content: unknown): unknown {
  return unwrapValue(plainContent(content))
}

/**
 * Content as plain JSON: ImmutableStrings become strings, bytes stay Uint8Array; content kept as a
 * JSON string (older Tonk) is parsed back, as Tonk's own reader does. Throws RangeError when too deep.
 */
export function plainContent(content: unknown): unknown {
  if (Automerge.isImmutableString(content)) {
    const raw = content.toString()
    try {
      return JSON.parse(raw) as unknown
    } catch {
      return raw
    }
  }
  return toPlain(content)
}

/** Tonk stores a primitive content as {value: X} and unwraps it on read; so do we. */
export function unwrapValue(content: unknown): unknown {
  if (isRecord(content)) {
    const keys = Object.keys(content)
    if (keys.length === 1 && keys[0] === 'value') return content.value
  }
  return content
}
