// The value format: header (magic "TKSV", version, write sequence, key and payload lengths), the key as
// JSON, the payload and a CRC32 trailer. A file that fails decodeValue() is set aside, never loaded.
import * as zlib from 'node:zlib'
import type { StorageKey } from '@automerge/automerge-repo/slim'
import { checkKey } from './key-encoding'

/** File magic: "TKSV" (Tonk storage value). */
const MAGIC = 0x5653_4b54 // "TKSV" read as little-endian u32
const FORMAT_VERSION = 1
const HEADER_BYTES = 24 // magic u32, version u8, 3 reserved, seq u64, keyLen u32, payloadLen u32
const TRAILER_BYTES = 4 // CRC32 of everything before it

// CRC32 (IEEE, as zlib/PNG). zlib.crc32 exists from Node 20.15; the table version keeps the on-disk
// format identical on runtimes without it (older Electron).
let crcTable: Uint32Array | undefined
function crc32Fallback(data: Uint8Array, value = 0): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  let crc = (value ^ 0xffffffff) >>> 0
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
type Crc32 = (data: Uint8Array, value?: number) => number
const nativeCrc32 = (zlib as { crc32?: Crc32 }).crc32
export const crc32: Crc32 = nativeCrc32 ? (data, value) => nativeCrc32(data, value) >>> 0 : crc32Fallback
/** Exposed for a test that checks both implementations agree. */
export const crc32Portable: Crc32 = crc32Fallback

/** Serializes one value: header + key + payload + CRC32. */
export function encodeValue(key: StorageKey, payload: Uint8Array, seq: bigint): Buffer {
  const keyBytes = Buffer.from(JSON.stringify(key), 'utf8')
  if (payload.length > 0xffff_ffff) throw new RangeError('storage value larger than 4 GiB')
  const total = HEADER_BYTES + keyBytes.length + payload.length + TRAILER_BYTES
  const out = Buffer.allocUnsafe(total)
  out.writeUInt32LE(MAGIC, 0)
  out.writeUInt8(FORMAT_VERSION, 4)
  out.fill(0, 5, 8)
  out.writeBigUInt64LE(seq, 8)
  out.writeUInt32LE(keyBytes.length, 16)
  out.writeUInt32LE(payload.length, 20)
  keyBytes.copy(out, HEADER_BYTES)
  out.set(payload, HEADER_BYTES + keyBytes.length)
  out.writeUInt32LE(crc32(out.subarray(0, total - TRAILER_BYTES)), total - TRAILER_BYTES)
  return out
}

export interface DecodedValue {
  key: StorageKey
  seq: bigint
  data: Uint8Array
}

/** Parses and verifies a stored value; returns a reason string instead of throwing on bad input. */
export function decodeValue(file: Buffer): DecodedValue | string {
  if (file.length < HEADER_BYTES + TRAILER_BYTES) return `too short (${file.length} bytes)`
  if (file.readUInt32LE(0) !== MAGIC) return 'bad magic'
  const version = file.readUInt8(4)
  if (version !== FORMAT_VERSION) return `unknown format version ${version}`
  const keyLength = file.readUInt32LE(16)
  const payloadLength = file.readUInt32LE(20)
  const expected = HEADER_BYTES + keyLength + payloadLength + TRAILER_BYTES
  if (file.length !== expected) return `length ${file.length}, header says ${expected}`
  const stored = file.readUInt32LE(expected - TRAILER_BYTES)
  if (crc32(file.subarray(0, expected - TRAILER_BYTES)) !== stored) return 'checksum mismatch'
  let key: unknown
  try {
    key = JSON.parse(file.toString('utf8', HEADER_BYTES, HEADER_BYTES + keyLength))
    checkKey(key, false)
  } catch {
    return 'unreadable key'
  }
  const start = HEADER_BYTES + keyLength
  // A copy, not a view: callers get a plain Uint8Array that owns its memory (never a pooled Buffer).
  const data = new Uint8Array(payloadLength)
  data.set(file.subarray(start, start + payloadLength))
  return { key, seq: file.readBigUInt64LE(8), data }
}
