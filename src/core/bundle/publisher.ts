// Publisher signatures: an ed25519 signature over the bundleId, so a peer can check who published a
// bundle before running it. The bundleId already covers every byte of the bundle (and the publisher's
// public key), so signing the id signs the content. Keys are 32-byte ed25519 seeds stored as 64 hex
// characters, the same format as a peer's identity.key (an iroh secret key is an ed25519 seed too).
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'
import { BundleError } from './errors'
import { HEX64 } from '../util/text'

/** Bytes signed before the bundleId: a signature made for anything else never verifies here. */
export const PUBLISHER_SIGNATURE_DOMAIN = 'tonk-bundle-signature/v1\n'

// DER prefixes that wrap a raw 32-byte ed25519 seed (PKCS#8) or public key (SPKI) for node:crypto.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const HEX128 = /^[0-9a-f]{128}$/

export interface PublisherKeyPair {
  /** 32-byte seed: keep it secret. */
  secretKey: Uint8Array
  /** 64 lowercase hex: goes into tonk.json (sync.publisher.publicKey) and --require-publisher. */
  publicKey: string
}

export function generatePublisherKey(): PublisherKeyPair {
  const secretKey = new Uint8Array(randomBytes(32))
  return { secretKey, publicKey: publisherPublicKey(secretKey) }
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new BundleError('E_SIGNATURE', `a publisher key is 32 bytes, got ${seed.length}`)
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}

export function publisherPublicKey(seed: Uint8Array): string {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' })
  return Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length)).toString('hex')
}

const message = (bundleId: string) => Buffer.from(PUBLISHER_SIGNATURE_DOMAIN + bundleId, 'utf8')

export function signBundleId(seed: Uint8Array, bundleId: string): string {
  return sign(null, message(bundleId), privateKeyObject(seed)).toString('hex')
}

/** True when `signature` is `publicKey`'s signature of `bundleId`; false for anything malformed. */
export function verifyBundleSignature(publicKey: string, bundleId: string, signature: string): boolean {
  if (!HEX64.test(publicKey) || !HEX128.test(signature)) return false
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(publicKey, 'hex')]), format: 'der', type: 'spki' })
    return verify(null, message(bundleId), key, Buffer.from(signature, 'hex'))
  } catch {
    return false // not a point on the curve
  }
}

/** Reads a key file written by `tonk-p2p keygen` (or an identity.key): 64 hex characters. */
export async function readPublisherKey(file: string): Promise<PublisherKeyPair> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new BundleError('E_IO', `cannot read the signing key ${file}: ${(err as Error).message}`, { cause: err })
  }
  const hex = text.trim().toLowerCase()
  if (!HEX64.test(hex)) {
    throw new BundleError('E_SIGNATURE', `${file} is not a signing key (expected 64 hex characters, as tonk-p2p keygen writes)`)
  }
  const secretKey = new Uint8Array(Buffer.from(hex, 'hex'))
  return { secretKey, publicKey: publisherPublicKey(secretKey) }
}

/** Writes a new key file (mode 0600); refuses to overwrite one (a lost key cannot be recovered). */
export async function writePublisherKey(file: string, key: PublisherKeyPair): Promise<void> {
  let fh
  try {
    fh = await open(file, 'wx', 0o600)
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST'
    throw new BundleError('E_IO', exists ? `${file} already exists; not overwriting a key` : `cannot write ${file}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  try {
    await fh.writeFile(Buffer.from(key.secretKey).toString('hex') + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
}
