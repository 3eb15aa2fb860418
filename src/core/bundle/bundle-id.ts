// bundleId: one hash that covers the manifest and every byte of every file, so peers that agree on it
// run the same app. docs/bundle-format.md spells the encoding out step by step for reimplementations.
import { createHash, type Hash } from 'node:crypto'
import type { PackedManifest, SourceManifest } from './manifest'
import { compareUtf8 } from './paths'

/** First bytes hashed; a version bump here is a new id scheme, never a collision with the old one. */
export const BUNDLE_ID_DOMAIN = 'tonk-bundle-id/v1\n'

/**
 * Canonical JSON in the spirit of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers as ECMAScript's JSON.stringify writes them (which is what JCS
 * specifies), properties whose value is undefined left out. Throws on values JSON cannot hold.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>
    // Default sort compares UTF-16 code units, exactly JCS's order.
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`)
}

/**
 * The manifest as the id covers it: everything but sync.bundleId and sync.publisher.signature (the
 * signature is made over the id). The publisher's public key is covered: another key, another bundle.
 */
export function manifestForBundleId(manifest: PackedManifest | SourceManifest): unknown {
  const { bundleId: _omit, publisher, ...sync } = manifest.sync
  if (publisher === undefined) return { ...manifest, sync }
  const { signature: _signature, ...covered } = publisher
  return { ...manifest, sync: { ...sync, publisher: covered } }
}

/**
 * SHA-256, lowercase hex, of:
 *   DOMAIN ‖ len64(M) ‖ M ‖ count64(files) ‖ for each file by UTF-8 path order: len64(P) ‖ P ‖ len64(D) ‖ D
 * where M is the canonical JSON (UTF-8) of the manifest without sync.bundleId, P a file's path with its
 * leading slash (UTF-8), D its bytes, and len64/count64 unsigned 64-bit big-endian integers.
 * Length prefixes keep (path, bytes) boundaries unambiguous: no two different bundles share an encoding.
 */
export function computeBundleId(manifest: PackedManifest | SourceManifest, files: ReadonlyMap<string, Uint8Array>): string {
  const hash = createHash('sha256')
  hash.update(BUNDLE_ID_DOMAIN, 'utf8')
  writeChunk(hash, Buffer.from(canonicalJson(manifestForBundleId(manifest)), 'utf8'))
  const paths = [...files.keys()].sort(compareUtf8)
  hash.update(u64(paths.length))
  for (const path of paths) {
    writeChunk(hash, Buffer.from(path, 'utf8'))
    writeChunk(hash, files.get(path)!)
  }
  return hash.digest('hex')
}

function writeChunk(hash: Hash, bytes: Uint8Array) {
  hash.update(u64(bytes.length))
  hash.update(bytes)
}

function u64(n: number): Buffer {
  const out = Buffer.alloc(8)
  out.writeBigUInt64BE(BigInt(n))
  return out
}
