// Storage keys → file names: one key component is one path component, encoded injectively and
// portably (case-insensitive and Windows file systems too). Part of the on-disk format: changing
// encodeKeyComponent() moves every stored value.
import { createHash } from 'node:crypto'
import type { StorageKey } from '@automerge/automerge-repo/slim'

/** Encoded components longer than this are replaced by a hash: file names are limited to 255 bytes. */
const MAX_COMPONENT_CHARS = 150
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export class StorageKeyError extends TypeError {
  constructor(message: string) {
    super(message)
    this.name = 'StorageKeyError'
  }
}

/**
 * Maps one key component to a file name, injectively: [a-z0-9-] stay, an upper-case letter becomes
 * `_` + its lower case (so names differ on case-insensitive file systems too), every other UTF-8 byte
 * becomes `%XX`. The empty string is `%`; Windows device names get their first letter escaped; an
 * encoding longer than 150 characters becomes `~` + SHA-256 of the component (the full key is kept
 * in the file's header, so nothing is lost). No result contains `.`, `/` or `\`.
 */
export function encodeKeyComponent(component: string): string {
  if (component === '') return '%'
  let out = ''
  for (const byte of Buffer.from(component, 'utf8')) {
    if ((byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d) {
      out += String.fromCharCode(byte)
    } else if (byte >= 0x41 && byte <= 0x5a) {
      out += '_' + String.fromCharCode(byte + 0x20)
    } else {
      out += '%' + byte.toString(16).toUpperCase().padStart(2, '0')
    }
  }
  if (WINDOWS_RESERVED.test(out)) out = '%' + out.charCodeAt(0).toString(16).toUpperCase() + out.slice(1)
  if (out.length > MAX_COMPONENT_CHARS) out = '~' + createHash('sha256').update(component, 'utf8').digest('hex')
  return out
}

export function checkKey(key: unknown, allowEmpty: boolean): asserts key is StorageKey {
  if (!Array.isArray(key)) throw new StorageKeyError('storage key must be an array of strings')
  if (!allowEmpty && key.length === 0) throw new StorageKeyError('storage key must not be empty')
  for (const part of key) {
    if (typeof part !== 'string') throw new StorageKeyError(`storage key component is not a string: ${String(part)}`)
    // A lone surrogate has no UTF-8 form: two different keys would share one file.
    if (LONE_SURROGATE.test(part)) throw new StorageKeyError('storage key component is not well-formed Unicode')
  }
}

export const sameKey = (a: StorageKey, b: StorageKey) => a.length === b.length && a.every((part, i) => part === b[i])
export const hasPrefix = (key: StorageKey, prefix: StorageKey) =>
  key.length >= prefix.length && prefix.every((part, i) => part === key[i])
