// A bundle is a capability: whoever holds it may sync with the app's peers, and nobody else learns
// anything about it. The secret behind that is the app's, not the build's, so every build of one app
// shares it (the bundleId changes with each build):
//   - `sync.appKey` in tonk.json: 32 random bytes (base64url), written by `tonk-p2p init`, kept by pack
//     (it is part of the manifest, so a zip carries it);
//   - a bundle packed without one falls back to its bundleId: still unguessable from outside, but then
//     every build is its own app (validate warns: E_APP_KEY_MISSING).
// Nothing on the network is the secret itself: the handshake key, the mDNS tag key, the DHT topic and
// the public app id are HKDF-SHA256 derivations with distinct labels, so learning one reveals no other.
import { hkdfSync, randomBytes } from 'node:crypto'

export const APP_KEY_BYTES = 32
/** base64url of 32 bytes, no padding. */
export const APP_KEY_PATTERN = '^[A-Za-z0-9_-]{43}$'
const APP_KEY_RE = new RegExp(APP_KEY_PATTERN)

export type AppSecretSource = 'appKey' | 'bundleId'

export interface AppCapability {
  /** 32 bytes only peers of the app know. Never logged, never sent. */
  readonly secret: Uint8Array
  readonly source: AppSecretSource
  /** A public, stable name for the app (16 hex): safe in logs, data dir names and status lines. */
  readonly appId: string
}

/** A fresh app key for a new manifest. */
export function newAppKey(): string {
  return randomBytes(APP_KEY_BYTES).toString('base64url')
}

export function isAppKey(value: unknown): value is string {
  return typeof value === 'string' && APP_KEY_RE.test(value)
}

/** Labels of every derived key, in one place so no two uses can collide. */
export const CAPABILITY_LABELS = {
  handshake: 'tonk/sync/2 handshake',
  mdnsTag: 'tonk/mdns/2 tag',
  dhtTopic: 'tonk/dht/2 topic',
  appId: 'tonk/app-id/1',
} as const

export function deriveKey(secret: Uint8Array, label: keyof typeof CAPABILITY_LABELS, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), CAPABILITY_LABELS[label], length))
}

/** The capability of a manifest: its appKey, else its bundleId (64 hex). */
export function appCapability(sync: { appKey?: string; bundleId: string }): AppCapability {
  let secret: Uint8Array
  let source: AppSecretSource
  if (sync.appKey !== undefined) {
    if (!isAppKey(sync.appKey)) throw new Error('sync.appKey is not 32 bytes of base64url')
    secret = Buffer.from(sync.appKey, 'base64url')
    source = 'appKey'
  } else {
    secret = Buffer.from(sync.bundleId, 'hex')
    source = 'bundleId'
  }
  return { secret, source, appId: deriveKey(secret, 'appId', 8).toString('hex') }
}
