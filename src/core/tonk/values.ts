// Reading Tonk's documents from JavaScript. Tonk writes with Rust's automerge, where a plain string is a
// scalar: Automerge JS hands those back as ImmutableString, while a string written by JS is Text and
// arrives as a plain string. Both mean the same to Tonk (its reader turns Text into a string too).
import { BundleError } from '../bundle/errors'

import { isRecord, MAX_CONTENT_DEPTH, plainContent, text, unwrapValue } from '../../shared/vfs/values'

export { isRecord, MAX_CONTENT_DEPTH }

/** A string field, whichever way it was stored; undefined for anything else. */
export const stringValue = text

/** A millisecond timestamp (Tonk writes i64 milliseconds); undefined when absent (the reader reports it). */
export function timeValue(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/**
 * A document's content as plain JSON: ImmutableStrings become strings, bytes stay Uint8Array. Older
 * Tonk (before native content, autumn 2025) stored content as a JSON string: that is parsed back,
 * as Tonk's own reader does. Too deep a nesting is E_TONK_VFS.
 */
export function contentValue(value: unknown): unknown {
  try {
    return plainContent(value)
  } catch (err) {
    if (err instanceof RangeError) throw new BundleError('E_TONK_VFS', err.message)
    throw err
  }
}

/** Tonk stores a primitive content as {value: X} and unwraps it on read; so do we. */
export const unwrapContent = unwrapValue
