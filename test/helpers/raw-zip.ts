// A tiny zip writer for malformed fixtures: every header field can be set to a lie (names with "..",
// symlink attributes, duplicate names, sizes that do not match the data, precompressed bombs).
// Real bundles are written by src/core/bundle/pack.ts; this is for tests only.
import { constants, crc32, deflateRawSync } from 'node:zlib'

export interface RawEntry {
  /** Central directory name (a Buffer/Uint8Array for raw bytes). */
  name: string | Uint8Array
  data?: Uint8Array
  /** 0 store, 8 deflate (default), anything else to test unsupported methods. */
  method?: number
  /** Bytes written as the entry's data, instead of compressing `data`. */
  compressed?: Uint8Array
  /** Declared uncompressed size (default: data.length). */
  uncompressedSize?: number
  crc?: number
  /** Full 32-bit external attributes; Unix mode goes in the high 16 bits. */
  externalAttributes?: number
  /** Name in the local header, when it should differ from the central directory's. */
  localName?: string
  flags?: number
}

const UTF8_FLAG = 0x800
export const unixMode = (mode: number) => mode * 0x10000

export function rawZip(entries: readonly RawEntry[]): Uint8Array {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const e of entries) {
    const data = Buffer.from(e.data ?? new Uint8Array(0))
    const method = e.method ?? 8
    const body = Buffer.from(e.compressed ?? (method === 8 ? deflateRawSync(data) : data))
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : Buffer.from(e.name)
    const localName = e.localName === undefined ? name : Buffer.from(e.localName, 'utf8')
    const crc = e.crc ?? crc32(data)
    const size = e.uncompressedSize ?? data.length
    const flags = e.flags ?? UTF8_FLAG

    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(method, 8)
    local.writeUInt16LE(0, 10) // time
    local.writeUInt16LE(0x21, 12) // 1980-01-01
    local.writeUInt32LE(crc >>> 0, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(size, 22)
    local.writeUInt16LE(localName.length, 26)
    local.writeUInt16LE(0, 28)
    locals.push(local, localName, body)

    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE((3 << 8) | 20, 4) // made by Unix
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(flags, 8)
    central.writeUInt16LE(method, 10)
    central.writeUInt16LE(0, 12)
    central.writeUInt16LE(0x21, 14)
    central.writeUInt32LE(crc >>> 0, 16)
    central.writeUInt32LE(body.length, 20)
    central.writeUInt32LE(size, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE((e.externalAttributes ?? unixMode(0o100644)) >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, name)
    offset += local.length + localName.length + body.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return new Uint8Array(Buffer.concat([...locals, directory, end]))
}

/**
 * Raw-deflated zeros, built without ever holding the inflated bytes: 1 MiB of zeros deflated with a
 * sync flush ends on a byte boundary as a non-final block, so copies of it can be concatenated; an
 * empty final fixed-Huffman block (0x03 0x00) closes the stream.
 */
export function deflatedZeros(totalMiB: number): { compressed: Uint8Array; crc: number; size: number } {
  const mib = new Uint8Array(1024 * 1024)
  const block = deflateRawSync(mib, { finishFlush: constants.Z_SYNC_FLUSH })
  let crc = 0
  for (let i = 0; i < totalMiB; i++) crc = crc32(mib, crc)
  const compressed = Buffer.concat([...Array.from({ length: totalMiB }, () => block), Buffer.from([0x03, 0x00])])
  return { compressed: new Uint8Array(compressed), crc, size: totalMiB * mib.length }
}
