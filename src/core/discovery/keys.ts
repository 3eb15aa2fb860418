// Derived keys and ed25519 helpers for discovery. Everything a peer of the bundle can compute from the
// app's capability (bundle/capability.ts; or the manifest's dhtKey) and nothing an outsider can invert:
// mDNS tags are HMACs keyed by a key derived from the capability over a per-run nonce, so even two
// announcements of one bundle do not look alike.
// ed25519 uses Node's crypto on raw 32-byte keys (iroh's secret key is the ed25519 seed; its endpoint
// id is the public key), so no extra crypto package is needed.
import { createHash, createHmac, timingSafeEqual, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'

const MDNS_TAG_LABEL = 'tonk/mdns/2|'
const DHT_TOPIC_LABEL = 'tonk/dht/1/topic|'
const DHT_RENDEZVOUS_LABEL = 'tonk/dht/1/rendezvous|'

/** 128-bit tag for mDNS TXT `b`, keyed by the capability's mDNS key: peers of the bundle recompute it with the nonce `n`. */
export function mdnsBundleTag(mdnsKey: Uint8Array, nonce: string): string {
  return createHmac('sha256', mdnsKey).update(MDNS_TAG_LABEL + nonce).digest('base64url').slice(0, 22)
}

/** Constant-time comparison of two tags (strings of base64url). */
export function sameTag(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The 20-byte infohash peers of a bundle announce under and look up. */
export function dhtTopic(key: string): Buffer {
  return createHash('sha1').update(DHT_TOPIC_LABEL + key).digest()
}

/** Seed of the bundle's rendezvous key pair: it signs the DHT slot records that list members' endpoint ids. */
export function dhtRendezvousSeed(key: string): Buffer {
  return createHash('sha256').update(DHT_RENDEZVOUS_LABEL + key).digest()
}

// RFC 8410: PKCS#8 wrapping of a raw Ed25519 seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface Ed25519Pair {
  publicKey: Buffer
  sign(message: Buffer): Buffer
}

export function ed25519FromSeed(seed: Uint8Array): Ed25519Pair {
  if (seed.length !== 32) throw new Error(`an ed25519 seed is 32 bytes, not ${seed.length}`)
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(key).export({ format: 'jwk' })
  return { publicKey: Buffer.from(jwk.x!, 'base64url'), sign: (message) => sign(null, message, key) }
}

/** Verifies an ed25519 signature by a raw 32-byte public key; false for anything malformed. */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' })
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}
