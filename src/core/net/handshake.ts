// The first exchange on every connection (ALPN tonk/sync/2), on the one bi-stream the dialer opens.
// A bundle is a capability: a peer that does not hold it must learn nothing from us, not even which
// bundle we serve. So both sides at once send one `sealed` frame: their hello encrypted and
// authenticated (AES-256-GCM) under the app's handshake key, with the ALPN, both endpoint ids (which
// iroh's TLS has already authenticated) and the sender's role as associated data. Opening the other's
// frame is the proof that it holds the key; a stranger receives bytes it cannot open and, from us,
// only `refuse {code: 'E_REFUSED'}`: no reason, no bundle id, name or storage id. The details go to our
// own log. Sealing keeps the exchange at one round trip (a Repo that asks for a document before its
// peers connected reports it unavailable), where proof-then-hello would need two.
// The hello checks (bundle, namespace, both version ranges) are symmetric, so each side detects and
// explains a mismatch itself. A private bundle (allowPeer) decides on the endpoint id before sending:
// a peer it does not allow gets a sealed refusal instead of the hello, so only holders of the key
// learn "not allowed", and nobody it refuses learns its name.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { cbor } from '@automerge/automerge-repo/slim'
import semver from 'semver'
import { shortId } from '../util/text'
import { FrameError } from './framing'
import type { FrameReader } from './stream-reader'
import type { StreamWriter } from './stream-writer'

export const HANDSHAKE_VERSION = 2
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Limit for frames before the handshake completes: a hello is a few hundred bytes. */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000

/** What a session says about itself; the adapter adds the automerge peer id and metadata on connect. */
export interface HelloInfo {
  bundleId: string
  namespace: string
  /** semver of the sync protocol this side speaks. */
  protocolVersion: string
  /** Oldest protocolVersion of a peer this side still works with. */
  minCompatibleVersion: string
  /** Human name for UIs ("alice's laptop"). */
  peerName: string
  /** Optional extras this side speaks beyond automerge-repo messages, e.g. 'pex' (peer exchange). */
  features?: string[]
  /**
   * Sync only with this exact build (`sync.strictBuild`). Without it, any build of the same app (the
   * same appKey, so the seal opened) and namespace syncs, within the protocol version rules.
   */
  strictBuild?: boolean
}

export interface HelloMessage extends HelloInfo {
  type: 'hello'
  v: typeof HANDSHAKE_VERSION
  /** automerge-repo PeerId of the sender's Repo. */
  peerId: string
  storageId?: string
  isEphemeral: boolean
  /** Random per adapter run: tells a restarted peer (new instance) from a second connection of the same one. */
  instanceId: string
  /**
   * Set by a dialer that dialed on a discovery source's word, not a person's: an acceptor with more
   * links than it wants may close this one (DiscoveryLimits.maxLinks), and the dialer does not redial.
   */
  discovered?: boolean
}

/** The only frame a side sends before it knows the other holds the key. */
export interface SealedFrame {
  type: 'sealed'
  v: typeof HANDSHAKE_VERSION
  /** AES-GCM nonce, fresh per frame. */
  n: Uint8Array
  /** Ciphertext of a CBOR hello (or refuse) followed by the 16-byte tag. */
  c: Uint8Array
}

export type HandshakeRole = 'dialer' | 'acceptor'

export type RefusalCode =
  | 'E_REFUSED'
  | 'E_BUNDLE_MISMATCH'
  | 'E_NAMESPACE_MISMATCH'
  | 'E_PROTOCOL_INCOMPATIBLE'
  | 'E_NOT_ALLOWED'
  | 'E_DISCONNECTED'
  | 'E_HANDSHAKE_MALFORMED'
  | 'E_HANDSHAKE_TIMEOUT'
  | 'E_CONNECTION_LOST'

/** Codes that will not go away by retrying soon. */
export const PERMANENT_REFUSALS: ReadonlySet<string> = new Set([
  'E_REFUSED',
  'E_PROTOCOL_TOO_OLD',
  'E_BUNDLE_MISMATCH',
  'E_NAMESPACE_MISMATCH',
  'E_PROTOCOL_INCOMPATIBLE',
  'E_NOT_ALLOWED',
  // The other side's user disconnected us: it dials again when it wants us back.
  'E_DISCONNECTED',
])

export interface RefuseMessage {
  type: 'refuse'
  code: RefusalCode
  /** Only to a peer that proved it holds the key; a stranger gets the code alone. */
  reason?: string
}

export interface Refusal {
  code: RefusalCode | string
  /** A sentence for people, from this side's point of view. */
  reason: string
  /** Who refused: this side, or the remote (reported to us in its refuse frame). */
  by: 'local' | 'remote'
}

/** Private bundles: decided on the (TLS-authenticated) endpoint id, before anything is sent. */
export type AllowPeer = (endpointId: string) => boolean | Promise<boolean>

export type HandshakeResult = { ok: true; remote: HelloMessage } | { ok: false; refusal: Refusal }

type Check = { ok: true; hello: HelloMessage } | { ok: false; code: RefusalCode; reason: string; remoteReason: string }

const isStr = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length > 0 && v.length <= max

/** Validates a decoded hello against ours. Pure; exported for unit tests. */
export function checkHello(local: HelloMessage, remote: unknown, localId: string, remoteId: string): Check {
  const them = `peer ${shortId(remoteId)}`
  const us = `peer ${shortId(localId)}`
  const malformed = (what: string): Check => ({
    ok: false,
    code: 'E_HANDSHAKE_MALFORMED',
    reason: `${them} sent a malformed handshake: ${what}`,
    remoteReason: `${us} could not read this session's handshake: ${what}`,
  })
  if (typeof remote !== 'object' || remote === null) return malformed('not a map')
  const h = remote as Record<string, unknown>
  if (h.type !== 'hello') return malformed(`expected a hello, got ${JSON.stringify(String(h.type)).slice(0, 40)}`)
  if (h.v !== HANDSHAKE_VERSION) return malformed(`handshake version ${String(h.v).slice(0, 20)}, expected ${HANDSHAKE_VERSION}`)
  for (const field of ['bundleId', 'namespace', 'protocolVersion', 'minCompatibleVersion', 'peerId', 'instanceId']) {
    if (!isStr(h[field])) return malformed(`missing or invalid ${field}`)
  }
  if (typeof h.peerName !== 'string' || h.peerName.length > 256) return malformed('invalid peerName')
  if (h.storageId !== undefined && !isStr(h.storageId)) return malformed('invalid storageId')
  if (h.isEphemeral !== undefined && typeof h.isEphemeral !== 'boolean') return malformed('invalid isEphemeral')
  if (h.strictBuild !== undefined && typeof h.strictBuild !== 'boolean') return malformed('invalid strictBuild')
  if (h.discovered !== undefined && typeof h.discovered !== 'boolean') return malformed('invalid discovered')
  if (h.features !== undefined && !(Array.isArray(h.features) && h.features.length <= 16 && h.features.every((f) => isStr(f, 32)))) {
    return malformed('invalid features')
  }
  const hello = { ...h, isEphemeral: h.isEphemeral ?? false } as HelloMessage
  for (const field of ['protocolVersion', 'minCompatibleVersion'] as const) {
    if (!semver.valid(hello[field])) return malformed(`${field} "${hello[field].slice(0, 40)}" is not a semver version`)
  }

  // Another build of the same app is the everyday case (an edited folder, a peer not yet updated):
  // it syncs unless either side asked for its exact build only.
  if (hello.bundleId !== local.bundleId && (local.strictBuild || hello.strictBuild)) {
    const who = local.strictBuild ? 'this session' : them
    return {
      ok: false,
      code: 'E_BUNDLE_MISMATCH',
      reason: `${them} serves build ${shortId(hello.bundleId)} of this app but this session serves ${shortId(local.bundleId)}, and ${who} syncs only with its own build (sync.strictBuild)`,
      remoteReason: `${us} serves build ${shortId(local.bundleId)} of this app but this session serves ${shortId(hello.bundleId)}, and ${local.strictBuild ? us : 'this session'} syncs only with its own build (sync.strictBuild)`,
    }
  }
  if (hello.namespace !== local.namespace) {
    return {
      ok: false,
      code: 'E_NAMESPACE_MISMATCH',
      reason: `${them} uses namespace "${hello.namespace.slice(0, 80)}" but this session uses "${local.namespace}"`,
      remoteReason: `${us} uses namespace "${local.namespace}" but this session uses "${hello.namespace.slice(0, 80)}"`,
    }
  }
  const weAcceptThem = semver.gte(hello.protocolVersion, local.minCompatibleVersion)
  const theyAcceptUs = semver.gte(local.protocolVersion, hello.minCompatibleVersion)
  if (!weAcceptThem || !theyAcceptUs) {
    const speaks = (v: string, min: string) => `protocol ${v} (accepts peers from ${min})`
    return {
      ok: false,
      code: 'E_PROTOCOL_INCOMPATIBLE',
      reason: `${them} speaks ${speaks(hello.protocolVersion, hello.minCompatibleVersion)} but this session speaks ${speaks(local.protocolVersion, local.minCompatibleVersion)}`,
      remoteReason: `${us} speaks ${speaks(local.protocolVersion, local.minCompatibleVersion)} but this session speaks ${speaks(hello.protocolVersion, hello.minCompatibleVersion)}`,
    }
  }
  return { ok: true, hello }
}

/** Associated data of a sealed frame: binds it to this protocol, this pair of endpoints and its sender's role. */
export function sealContext(alpn: string, dialerId: string, acceptorId: string, sender: HandshakeRole): Uint8Array {
  return new TextEncoder().encode(`${alpn}\u0000${dialerId}\u0000${acceptorId}\u0000${sender}`)
}

/** Seals a handshake message under the app's handshake key (32 bytes). */
export function seal(key: Uint8Array, context: Uint8Array, message: object): SealedFrame {
  const n = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, n, { authTagLength: TAG_BYTES })
  cipher.setAAD(context)
  const c = Buffer.concat([cipher.update(cbor.encode(message)), cipher.final(), cipher.getAuthTag()])
  return { type: 'sealed', v: HANDSHAKE_VERSION, n: new Uint8Array(n), c: new Uint8Array(c) }
}

/** Opens a sealed frame; undefined when it is not one, or not sealed with this key for this context. */
export function open(key: Uint8Array, context: Uint8Array, frame: Record<string, unknown>): unknown {
  const { n, c } = frame
  if (frame.type !== 'sealed' || frame.v !== HANDSHAKE_VERSION) return undefined
  if (!(n instanceof Uint8Array) || n.length !== NONCE_BYTES || !(c instanceof Uint8Array) || c.length < TAG_BYTES) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, n, { authTagLength: TAG_BYTES })
    decipher.setAAD(context)
    decipher.setAuthTag(c.subarray(c.length - TAG_BYTES))
    const plain = Buffer.concat([decipher.update(c.subarray(0, c.length - TAG_BYTES)), decipher.final()])
    return cbor.decode(plain)
  } catch {
    return undefined // wrong key, tampered, or not CBOR inside: all mean "not one of ours"
  }
}

export interface HandshakeOptions {
  reader: FrameReader
  writer: StreamWriter
  local: HelloMessage
  localId: string
  remoteId: string
  /** Our side of the connection: the dialer opened the stream. */
  role: HandshakeRole
  /** The ALPN the connection negotiated (part of the sealed context). */
  alpn: string
  /** The app's handshake key (32 bytes, derived from the bundle's capability). */
  key: Uint8Array
  allowPeer?: AllowPeer
  /**
   * Our user disconnected this peer: refuse it (sealed, so only a key holder learns why) with
   * E_DISCONNECTED rather than E_NOT_ALLOWED, so it stops redialing until we dial it again.
   */
  disconnected?: boolean
  timeoutMs?: number
}

type Refuse = (code: RefusalCode, reason: string, remoteReason?: string) => HandshakeResult

/**
 * Runs the exchange. Never throws: every failure is a Refusal. On a local refusal the refuse frame is
 * queued on the writer; closing the stream and the connection is the caller's job.
 */
export async function performHandshake(options: HandshakeOptions): Promise<HandshakeResult> {
  const { writer, remoteId } = options
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  const them = `peer ${shortId(remoteId)}`
  let settled = false
  // `remoteReason` is given only once the other side proved it holds the key.
  const refuse: Refuse = (code, reason, remoteReason) => {
    if (settled) return { ok: false, refusal: { code, reason, by: 'local' } }
    const frame: RefuseMessage = remoteReason === undefined ? { type: 'refuse', code } : { type: 'refuse', code, reason: remoteReason }
    try {
      writer.enqueue(cbor.encode(frame))
    } catch {
      // The stream is already gone; the connection close carries the code too.
    }
    return { ok: false, refusal: { code, reason, by: 'local' } }
  }

  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<HandshakeResult>((resolve) => {
    timer = setTimeout(() => resolve(refuse('E_HANDSHAKE_TIMEOUT', `${them} did not complete the handshake within ${timeoutMs} ms`)), timeoutMs)
  })
  const work = exchange(options, refuse)
  try {
    return await Promise.race([work, timeout])
  } finally {
    settled = true
    clearTimeout(timer)
  }
}

async function exchange(options: HandshakeOptions, refuse: Refuse): Promise<HandshakeResult> {
  const { reader, writer, local, localId, remoteId, role, alpn, key, allowPeer, disconnected } = options
  const them = `peer ${shortId(remoteId)}`
  const us = `peer ${shortId(localId)}`
  const [dialerId, acceptorId] = role === 'dialer' ? [localId, remoteId] : [remoteId, localId]
  const remoteRole: HandshakeRole = role === 'dialer' ? 'acceptor' : 'dialer'
  const lost = (what: string): HandshakeResult => ({ ok: false, refusal: { code: 'E_CONNECTION_LOST', reason: `${them} ${what}`, by: 'remote' } })

  let allowed = !disconnected
  if (allowed && allowPeer) {
    try {
      allowed = await allowPeer(remoteId)
    } catch {
      allowed = false
    }
  }
  // A peer we do not allow gets a sealed refusal in place of our hello: it learns "not allowed" only
  // if it holds the key, and never our name or storage id.
  const notAllowed: RefuseMessage = disconnected
    ? { type: 'refuse', code: 'E_DISCONNECTED', reason: `${us} disconnected this session; it dials again when it wants the connection back` }
    : { type: 'refuse', code: 'E_NOT_ALLOWED', reason: `this session is not allowed by ${us}` }
  const ours: HelloMessage | RefuseMessage = allowed ? local : notAllowed
  try {
    writer.enqueue(cbor.encode(seal(key, sealContext(alpn, dialerId, acceptorId, role), ours)))
  } catch {
    return lost('went away before the handshake')
  }

  let frame: Uint8Array | null
  try {
    frame = await reader.next()
  } catch (err) {
    if (err instanceof FrameError) return refuse('E_HANDSHAKE_MALFORMED', `${them} sent a malformed handshake: ${err.message}`)
    return lost('went away during the handshake')
  }
  if (frame === null) return lost('closed the stream during the handshake')
  let outer: unknown
  try {
    outer = cbor.decode(frame)
  } catch {
    outer = undefined
  }
  if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) {
    return refuse('E_HANDSHAKE_MALFORMED', `${them} sent a malformed handshake: not a CBOR map`)
  }
  const o = outer as Record<string, unknown>
  if (o.type === 'refuse') return remoteRefusal(them, o)
  if (o.type !== 'sealed') return refuse('E_HANDSHAKE_MALFORMED', `${them} sent a malformed handshake: expected a sealed hello, got ${JSON.stringify(String(o.type)).slice(0, 40)}`)
  const inner = open(key, sealContext(alpn, dialerId, acceptorId, remoteRole), o)
  if (inner === undefined) {
    return refuse('E_REFUSED', `${them} does not hold this bundle's key (a stranger, or a peer of another app): refused without a word about the bundle`)
  }
  // From here on the other side proved it holds the key: refusals may explain themselves.
  if (typeof inner === 'object' && inner !== null && (inner as Record<string, unknown>).type === 'refuse') {
    return remoteRefusal(them, inner as Record<string, unknown>)
  }
  const check = checkHello(local, inner, localId, remoteId)
  if (!check.ok) return refuse(check.code, check.reason, check.remoteReason)
  if (!allowed) {
    return disconnected
      ? refuse('E_DISCONNECTED', `${them} was disconnected by this session: refused until it is dialed again`, notAllowed.reason)
      : refuse('E_NOT_ALLOWED', `${them} is not allowed in this bundle`, notAllowed.reason)
  }
  return { ok: true, remote: check.hello }
}

function remoteRefusal(them: string, m: Record<string, unknown>): HandshakeResult {
  const code = typeof m.code === 'string' ? clean(m.code).slice(0, 64) : 'E_REFUSED'
  const text = typeof m.reason === 'string' ? `: ${clean(m.reason)}` : code === 'E_REFUSED' ? ': it does not hold this bundle (or serves another app)' : ''
  return { ok: false, refusal: { code, reason: `${them} refused this session (${code})${text}`, by: 'remote' } }
}

/** A remote's sentence is shown to people: one line, bounded, no control characters. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300)
}
