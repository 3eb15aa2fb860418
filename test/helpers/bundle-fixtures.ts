// Bundle folders and zips built in code for the bundle-*.test.ts suites.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import { rawZip } from './raw-zip'

export function sourceManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    manifestVersion: 1,
    name: 'my-world',
    version: '0.1.0',
    description: 'A test world',
    entrypoints: ['/index.html'],
    sync: {
      appKey: 'dGVzdC1hcHAta2V5LW5vdC1zZWNyZXQtMzItYnl0ZXM',
      namespace: 'my-world',
      protocolVersion: '1.0.0',
      minCompatibleVersion: '1.0.0',
      discovery: { mdnsService: '_tonk-sync._udp' },
    },
    ...overrides,
  }
}

export const DEFAULT_FILES: Record<string, string | Uint8Array> = {
  'index.html': '<!doctype html><script type="module" src="/js/app.js"></script>',
  'js/app.js': 'console.log("hello")\n',
  'css/site.css': 'body { margin: 0 }\n',
  'img/logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]),
}

const made: string[] = []

/** A fresh temp folder, removed by cleanupTemp(). */
export function tempDir(prefix = 'tonk-bundle-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function cleanupTemp(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Writes a bundle folder: tonk.json (object or raw text) plus files by relative path. */
export function writeSourceDir(
  files: Record<string, string | Uint8Array> = DEFAULT_FILES,
  manifest: Record<string, unknown> | string = sourceManifest(),
  dir = tempDir(),
): string {
  writeFileSync(join(dir, 'tonk.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

/**
 * Entries of a zip we trust (our own pack output), by zip name, in central-directory order. Hand-parsed
 * rather than fflate's unzipSync, whose result object would reorder "404" first and choke on "__proto__".
 */
export function unzipEntries(zip: Uint8Array): Map<string, Uint8Array> {
  const buf = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength)
  const end = buf.length - 22 // pack writes no archive comment
  const count = buf.readUInt16LE(end + 10)
  let at = buf.readUInt32LE(end + 16)
  const out = new Map<string, Uint8Array>()
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(at + 10)
    const compressedSize = buf.readUInt32LE(at + 20)
    const nameLength = buf.readUInt16LE(at + 28)
    const skip = nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32)
    const name = buf.toString('utf8', at + 46, at + 46 + nameLength)
    const local = buf.readUInt32LE(at + 42)
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28)
    const body = buf.subarray(start, start + compressedSize)
    out.set(name, new Uint8Array(method === 8 ? inflateRawSync(body) : body))
    at += 46 + skip
  }
  return out
}

/** A well-formed zip (correct CRCs and sizes) of the given entries: for content-level tampering. */
export const zipEntries = (entries: Map<string, Uint8Array>): Uint8Array =>
  rawZip([...entries].map(([name, data]) => ({ name, data })))

export const jsonBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2))
export const parseJson = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, any>

/** Everything under dir, recursively, as sorted relative paths. */
export function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}
