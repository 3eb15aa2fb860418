// Reading Tonk's documents from JavaScript. Tonk writes with Rust's automerge, where a plain string is a
// scalar: Automerge JS hands those back as ImmutableString, while a string written by JS is Text and
// arrives as a plain string. Both mean the same to Tonk (its reader turns Text into a string too).
import { Automerge } from '@automerge/automerge-repo/slim'
import { BundleError } from '../bundle/errors'

/** Deeper content is refused rather than walked: a hostile document must not exhaust the stack. */
export const MAX_CONTENT_DEPTH = 256

/** A string field, whichever way it was stored; undefined for anything else. */
export function stringValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Automerge.isImmutableString(value)) return value.toString()
  return undefined
}

/** A millisecond timestamp (Tonk writes i64 milliseconds). */
export function timeValue(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)

/**
 * A document's content as plain JSON: ImmutableStrings become strings, bytes stay Uint8Array. Older
 * Tonk (before native content, autumn 2025) stored content as a JSON string: that is parsed back,
 * as Tonk's own reader does.
 */
export function contentValue(value: unknown): unknown {
  if (Automerge.isImmutableString(value)) {
    const text = value.toString()
    try {
      return JSON.parse(text) as unknown
    } catch {
      return text
    }
  }
  return plain(value)
}

function plain(value: unknown, depth = 0): unknown {
  if (Automerge.isImmutableString(value)) return value.toString()
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value
  if (depth >= MAX_CONTENT_DEPTH) throw new BundleError('E_TONK_VFS', `content nests deeper than ${MAX_CONTENT_DEPTH} levels`)
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1))
  if (Automerge.isCounter(value)) return value.value
  if (value instanceof Date) return value.getTime()
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, depth + 1)]))
}

/** Tonk stores a primitive content as {value: X} and unwraps it on read; so do we. */
export function unwrapContent(content: unknown): unknown {
  if (isRecord(content)) {
    const keys = Object.keys(content)
    if (keys.length === 1 && keys[0] === 'value') return content.value
  }
  return content
}
