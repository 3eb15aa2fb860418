// What travels on a link once the handshake is done, read and written in one place: the check that a
// decoded frame is an automerge-repo message, the split between those and our own extension frames
// (type `tonk/…`), CBOR encoding, the trace records the sync trace shows, and the close reasons iroh
// reports. The wire format is upstream's WebSocket adapter's: one CBOR-encoded message per frame.
import { cbor, type Message } from '@automerge/automerge-repo/slim'
import { FRAME_HEADER_BYTES } from './framing'
import type { TraceEvent } from './types'

/** Frames whose type starts with this are the session's own (peer exchange), not automerge-repo's. */
export const EXTENSION_TYPE_PREFIX = 'tonk/'

/** Why a decoded frame is not an automerge-repo message, or undefined if it is one. */
export function messageProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a map'
  const m = value as Record<string, unknown>
  if (typeof m.type !== 'string' || m.type.length === 0) return 'no type'
  if (typeof m.senderId !== 'string' || m.senderId.length === 0) return 'no senderId'
  if (typeof m.targetId !== 'string' || m.targetId.length === 0) return 'no targetId'
  if (m.documentId !== undefined && typeof m.documentId !== 'string') return 'documentId is not a string'
  if (m.data !== undefined && !(m.data instanceof Uint8Array)) return 'data is not bytes'
  return undefined
}

/** One received frame, read. */
export type ReadFrame =
  | { kind: 'not-cbor' }
  /** One of our own frames (peer exchange, bulk): never given to the Repo. */
  | { kind: 'extension'; message: Record<string, unknown> }
  | { kind: 'malformed'; problem: string }
  | { kind: 'message'; message: Message }

export function readFrame(frame: Uint8Array): ReadFrame {
  let decoded: unknown
  try {
    decoded = cbor.decode(frame)
  } catch {
    return { kind: 'not-cbor' }
  }
  const type = (decoded as { type?: unknown } | null)?.type
  if (typeof type === 'string' && type.startsWith(EXTENSION_TYPE_PREFIX) && !Array.isArray(decoded)) {
    return { kind: 'extension', message: decoded as Record<string, unknown> }
  }
  const problem = messageProblem(decoded)
  if (problem) return { kind: 'malformed', problem }
  return { kind: 'message', message: decoded as Message }
}

/** CBOR, as every frame after the handshake. Throws on values CBOR cannot carry. */
export const encodeFrame = (value: unknown): Uint8Array => cbor.encode(value)

/** The sync trace's record of one message; `payloadBytes` without the frame header. */
export function traceRecord(direction: 'in' | 'out', endpointId: string, message: Message, payloadBytes: number): TraceEvent {
  return {
    direction,
    endpointId,
    peerId: direction === 'in' ? message.senderId : message.targetId,
    type: message.type,
    documentId: message.documentId,
    bytes: payloadBytes + FRAME_HEADER_BYTES,
    at: Date.now(),
  }
}

/** iroh reports a remote application close as "closed by peer: <reason> (code N)". */
export function parseCloseReason(text: string | null): { code: string; text: string } | undefined {
  const m = text ? /closed by peer: (.*) \(code (\d+)\)$/s.exec(text) : null
  if (!m) return undefined
  return { code: m[1]!.split(':')[0]!.trim(), text: m[1]!.trim() }
}

/**
 * automerge-repo forwards ephemeral messages (presence) to its other peers with the origin's senderId
 * unchanged: that is how a page's presence reaches peers two hops away. So an ephemeral message may
 * name a sender other than the link's peer; every other type must come from the peer itself. The
 * origin is a claim (presence is), bounded here. It may not be us, nor one of our direct peers on this
 * adapter (`isDirectPeer`): a direct peer speaks for itself on its own link, so a copy naming it that
 * arrives on another link is either a forwarded duplicate (the Repo has the original) or a spoof that
 * would rewrite that peer's presence. peer-claims.ts does the same across adapters.
 */
export function isForwardedEphemeral(message: Message, ourPeerId: string | undefined, isDirectPeer: (peerId: string) => boolean): boolean {
  return (
    message.type === 'ephemeral' &&
    typeof message.senderId === 'string' &&
    message.senderId.length <= 128 &&
    message.senderId !== ourPeerId &&
    !isDirectPeer(message.senderId)
  )
}
