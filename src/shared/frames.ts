// Validation of PostMessageNetworkAdapter frames, shared by both ends (browser-safe): whatever arrives
// through postMessage is untrusted until it has the shape of src/protocol/preview.ts.
import type { AdapterFrame, WirePeerMetadata } from '../protocol/preview'

const MAX_PEER_ID = 256

/** The bytes of a Uint8Array, ArrayBuffer or other ArrayBuffer view (postMessage may hand back any). */
export function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  return undefined
}

function isPeerId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_PEER_ID
}

function peerMetadata(v: unknown): WirePeerMetadata | undefined {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) return undefined
  const r = v as Record<string, unknown>
  const out: WirePeerMetadata = {}
  if (r.storageId !== undefined) {
    if (typeof r.storageId !== 'string' || r.storageId.length > MAX_PEER_ID) return undefined
    out.storageId = r.storageId
  }
  if (r.isEphemeral !== undefined) {
    if (typeof r.isEphemeral !== 'boolean') return undefined
    out.isEphemeral = r.isEphemeral
  }
  return out
}

/** A well-formed frame (normalized: bytes as Uint8Array, metadata reduced to known fields), or undefined. */
export function parseAdapterFrame(value: unknown): AdapterFrame | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const f = value as Record<string, unknown>
  switch (f.kind) {
    case 'arrive':
    case 'welcome': {
      const meta = peerMetadata(f.peerMetadata)
      return isPeerId(f.peerId) && meta ? { kind: f.kind, peerId: f.peerId, peerMetadata: meta } : undefined
    }
    case 'leave':
      return isPeerId(f.peerId) ? { kind: 'leave', peerId: f.peerId } : undefined
    case 'message': {
      const bytes = asBytes(f.bytes)
      return bytes ? { kind: 'message', bytes } : undefined
    }
    default:
      return undefined
  }
}
