// The first exchange on every connection, on the one bi-stream the dialer opens. Both sides send a
// `hello` at once and check the other's; a mismatch is answered with `refuse {code, reason}`. That is
// one round trip, which matters: a Repo asked for a document before its peers connected reports it
// unavailable. A side whose acceptance depends on more than the hello (an `allowPeer` predicate) says
// so with `gated: true` and then sends `accept` or `refuse`; only then does the other side wait for it.
// The hello checks are symmetric (bundle, namespace, both version ranges), so each side detects and
// explains a mismatch itself; the refuse frame carries a sentence written for the receiver, for the
// one-sided refusals (allowPeer, timeouts, malformed hellos).
import { cbor } from '@automerge/automerge-repo/slim'
import semver from 'semver'
import { shortId } from './endpoint'
import { FrameError } from './framing'
import type { FrameReader } from './stream-reader'
import type { StreamWriter } from './stream-writer'

export const HANDSHAKE_VERSION = 1
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
  /** The sender decides after the hello (allowPeer) and will send `accept` or `refuse`. */
  gated?: boolean
}

export type RefusalCode =
  | 'E_BUNDLE_MISMATCH'
  | 'E_NAMESPACE_MISMATCH'
  | 'E_PROTOCOL_INCOMPATIBLE'
  | 'E_NOT_ALLOWED'
  | 'E_HANDSHAKE_MALFORMED'
  | 'E_HANDSHAKE_TIMEOUT'
  | 'E_CONNECTION_LOST'

/** Codes that will not go away by retrying soon. */
export const PERMANENT_REFUSALS: ReadonlySet<string> = new Set([
  'E_BUNDLE_MISMATCH',
  'E_NAMESPACE_MISMATCH',
  'E_PROTOCOL_INCOMPATIBLE',
  'E_NOT_ALLOWED',
])

export interface RefuseMessage {
  type: 'refuse'
  code: RefusalCode
  reason: string
}

export interface Refusal {
  code: RefusalCode | string
  /** A sentence for people, from this side's point of view. */
  reason: string
  /** Who refused: this side, or the remote (reported to us in its refuse frame). */
  by: 'local' | 'remote'
}

export type AllowPeer = (endpointId: string, hello: HelloMessage) => boolean | Promise<boolean>

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
  if (h.gated !== undefined && typeof h.gated !== 'boolean') return malformed('invalid gated')
  if (h.features !== undefined && !(Array.isArray(h.features) && h.features.length <= 16 && h.features.every((f) => isStr(f, 32)))) {
    return malformed('invalid features')
  }
  const hello = { ...h, isEphemeral: h.isEphemeral ?? false } as HelloMessage
  for (const field of ['protocolVersion', 'minCompatibleVersion'] as const) {
    if (!semver.valid(hello[field])) return malformed(`${field} "${hello[field].slice(0, 40)}" is not a semver version`)
  }

  if (hello.bundleId !== local.bundleId) {
    return {
      ok: false,
      code: 'E_BUNDLE_MISMATCH',
      reason: `${them} serves bundle ${shortId(hello.bundleId)} but this session serves ${shortId(local.bundleId)}`,
      remoteReason: `${us} serves bundle ${shortId(local.bundleId)} but this session serves ${shortId(hello.bundleId)}`,
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

export interface HandshakeOptions {
  reader: FrameReader
  writer: StreamWriter
  local: HelloMessage
  localId: string
  remoteId: string
  allowPeer?: AllowPeer
  timeoutMs?: number
}

/**
 * Runs the exchange. Never throws: every failure is a Refusal. On a local refusal the refuse frame is
 * queued on the writer; closing the stream and the connection is the caller's job.
 */
export async function performHandshake(options: HandshakeOptions): Promise<HandshakeResult> {
  const { writer, local, remoteId, localId } = options
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  const them = `peer ${shortId(remoteId)}`
  let settled = false
  const refuse = (code: RefusalCode, reason: string, remoteReason: string): HandshakeResult => {
    if (settled) return { ok: false, refusal: { code, reason, by: 'local' } }
    try {
      writer.enqueue(cbor.encode({ type: 'refuse', code, reason: remoteReason } satisfies RefuseMessage))
    } catch {
      // The stream is already gone; the connection close carries the code too.
    }
    return { ok: false, refusal: { code, reason, by: 'local' } }
  }

  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<HandshakeResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          refuse(
            'E_HANDSHAKE_TIMEOUT',
            `${them} did not complete the handshake within ${timeoutMs} ms`,
            `peer ${shortId(localId)} gave up waiting for this session's handshake after ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    )
  })
  const work = exchange(options, refuse)
  try {
    return await Promise.race([work, timeout])
  } finally {
    settled = true
    clearTimeout(timer)
  }
}

async function exchange(
  { reader, writer, local, localId, remoteId, allowPeer }: HandshakeOptions,
  refuse: (code: RefusalCode, reason: string, remoteReason: string) => HandshakeResult,
): Promise<HandshakeResult> {
  const them = `peer ${shortId(remoteId)}`
  const us = `peer ${shortId(localId)}`
  const read = async (): Promise<{ msg: Record<string, unknown> } | { result: HandshakeResult }> => {
    let frame: Uint8Array | null
    try {
      frame = await reader.next()
    } catch (err) {
      if (err instanceof FrameError) {
        return { result: refuse('E_HANDSHAKE_MALFORMED', `${them} sent a malformed handshake: ${err.message}`, `${us} could not read this session's handshake: ${err.message}`) }
      }
      return { result: { ok: false, refusal: { code: 'E_CONNECTION_LOST', reason: `${them} went away during the handshake`, by: 'remote' } } }
    }
    if (frame === null) {
      return { result: { ok: false, refusal: { code: 'E_CONNECTION_LOST', reason: `${them} closed the stream during the handshake`, by: 'remote' } } }
    }
    let msg: unknown
    try {
      msg = cbor.decode(frame)
    } catch {
      msg = undefined
    }
    if (typeof msg !== 'object' || msg === null) {
      return { result: refuse('E_HANDSHAKE_MALFORMED', `${them} sent a malformed handshake: not CBOR`, `${us} could not read this session's handshake: not CBOR`) }
    }
    const m = msg as Record<string, unknown>
    if (m.type === 'refuse') {
      const code = typeof m.code === 'string' ? m.code.slice(0, 64) : 'E_REFUSED'
      const text = typeof m.reason === 'string' ? clean(m.reason) : 'no reason given'
      return { result: { ok: false, refusal: { code, reason: `${them} refused this session (${code}): ${text}`, by: 'remote' } } }
    }
    return { msg: m }
  }

  try {
    writer.enqueue(cbor.encode({ ...local, gated: allowPeer !== undefined }))
  } catch {
    return { ok: false, refusal: { code: 'E_CONNECTION_LOST', reason: `${them} went away before the handshake`, by: 'remote' } }
  }
  const first = await read()
  if ('result' in first) return first.result
  const check = checkHello(local, first.msg, localId, remoteId)
  if (!check.ok) return refuse(check.code, check.reason, check.remoteReason)
  if (allowPeer) {
    let allowed = false
    try {
      allowed = await allowPeer(remoteId, check.hello)
    } catch {
      allowed = false
    }
    if (!allowed) {
      return refuse('E_NOT_ALLOWED', `${them} is not allowed in this bundle`, `this session is not allowed by ${us}`)
    }
  }
  if (allowPeer) {
    try {
      writer.enqueue(cbor.encode({ type: 'accept' }))
    } catch {
      return { ok: false, refusal: { code: 'E_CONNECTION_LOST', reason: `${them} went away during the handshake`, by: 'remote' } }
    }
  }
  if (!check.hello.gated) return { ok: true, remote: check.hello }
  const second = await read()
  if ('result' in second) return second.result
  if (second.msg.type !== 'accept') {
    return refuse('E_HANDSHAKE_MALFORMED', `${them} sent a malformed handshake: expected accept or refuse`, `${us} expected accept or refuse`)
  }
  return { ok: true, remote: check.hello }
}

/** A remote's sentence is shown to people: one line, bounded, no control characters. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300)
}
