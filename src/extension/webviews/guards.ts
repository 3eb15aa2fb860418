// Host-side validation of every message a webview posts (src/protocol/*). A webview is a web page: the
// previewed app can post to the host too, so nothing is trusted until it has the protocol's shape.
// Each parser returns the message (normalized) or a reason it was dropped.
import { ACTOR_ID } from '../../shared/actor-id'
import { MAX_HISTORY_ROWS, type HistoryPoint, type InspectorToHost, type JsonValue, type ValuePath } from '../../protocol/inspector'
import type { PreviewToHost } from '../../protocol/preview'
import type { MeshToHost } from '../../protocol/mesh'
import { parseAdapterFrame } from '../../shared/frames'

export type Parsed<T> = { ok: true; message: T } | { ok: false; reason: string }

const ok = <T>(message: T): Parsed<T> => ({ ok: true, message })
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason })

const MAX_PATH_DEPTH = 64
const MAX_KEY_LENGTH = 1024
const MAX_JSON_NODES = 10_000
const MAX_LOG_LENGTH = 2000

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

function isValuePath(v: unknown): v is ValuePath {
  return (
    Array.isArray(v) &&
    v.length <= MAX_PATH_DEPTH &&
    v.every((s) => (typeof s === 'string' && s.length <= MAX_KEY_LENGTH) || (Number.isSafeInteger(s) && (s as number) >= 0))
  )
}

/** JSON values only (what JSON.parse gives), bounded in size; no prototypes, no cycles. */
export function isJsonValue(v: unknown): v is JsonValue {
  let nodes = 0
  const visit = (x: unknown, depth: number): boolean => {
    if (++nodes > MAX_JSON_NODES || depth > MAX_PATH_DEPTH) return false
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return true
    if (typeof x === 'number') return Number.isFinite(x)
    if (Array.isArray(x)) return x.every((e) => visit(e, depth + 1))
    if (!isRecord(x) || Object.getPrototypeOf(x) !== Object.prototype) return false
    return Object.entries(x).every(([k, e]) => k.length <= MAX_KEY_LENGTH && visit(e, depth + 1))
  }
  return visit(v, 0)
}

const HASH = /^[0-9a-f]{64}$/
const MAX_CHANGE_INDEX = 2 ** 31

/** `{index, hash}` of one change (64 hex), or 'now' where allowed. */
function parsePoint(v: unknown, nowAllowed: boolean): HistoryPoint | undefined {
  if (v === 'now') return nowAllowed ? 'now' : undefined
  if (!isRecord(v) || typeof v.hash !== 'string' || !HASH.test(v.hash)) return undefined
  if (!Number.isSafeInteger(v.index) || (v.index as number) < 0 || (v.index as number) > MAX_CHANGE_INDEX) return undefined
  return { index: v.index as number, hash: v.hash }
}

export function parseInspectorMessage(value: unknown): Parsed<InspectorToHost> {
  if (!isRecord(value)) return bad('not an object')
  switch (value.type) {
    case 'ready':
      return ok({ type: 'ready' })
    case 'history': {
      const { requestId, offset, limit } = value
      if (!isRequestId(requestId)) return bad('history: bad requestId')
      if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (offset as number) > MAX_CHANGE_INDEX) return bad('history: bad offset')
      if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_HISTORY_ROWS) return bad('history: bad limit')
      return ok({ type: 'history', requestId, offset: offset as number, limit: limit as number })
    }
    case 'value-at':
    case 'restore': {
      if (!isRequestId(value.requestId)) return bad(`${value.type}: bad requestId`)
      const at = parsePoint(value.at, false)
      if (!at || at === 'now') return bad(`${value.type}: bad point`)
      return ok({ type: value.type, requestId: value.requestId, at })
    }
    case 'diff': {
      if (!isRequestId(value.requestId)) return bad('diff: bad requestId')
      const from = parsePoint(value.from, true)
      const to = parsePoint(value.to, true)
      if (!from || !to) return bad('diff: bad point')
      return ok({ type: 'diff', requestId: value.requestId, from, to })
    }
    case 'set':
    case 'add-key':
    case 'delete': {
      if (!isRequestId(value.requestId)) return bad(`${value.type}: bad requestId`)
      if (!isValuePath(value.path)) return bad(`${value.type}: bad path`)
      const { requestId, path } = value
      if (value.type === 'delete') {
        return path.length > 0 ? ok({ type: 'delete', requestId, path }) : bad('delete: cannot delete the root')
      }
      if (!isJsonValue(value.value)) return bad(`${value.type}: value is not JSON`)
      if (value.type === 'set') {
        return path.length > 0 ? ok({ type: 'set', requestId, path, value: value.value }) : bad('set: cannot replace the root')
      }
      if (typeof value.key !== 'string' || value.key.length === 0 || value.key.length > MAX_KEY_LENGTH) return bad('add-key: bad key')
      return ok({ type: 'add-key', requestId, path, key: value.key, value: value.value })
    }
    default:
      return bad(`unknown type ${JSON.stringify(String(value.type)).slice(0, 40)}`)
  }
}

export function parsePreviewMessage(value: unknown): Parsed<PreviewToHost> {
  if (!isRecord(value)) return bad('not an object')
  switch (value.type) {
    case 'ready':
      return ok({ type: 'ready' })
    case 'adapter': {
      const frame = parseAdapterFrame(value.frame)
      return frame ? ok({ type: 'adapter', frame }) : bad('adapter: malformed frame')
    }
    case 'log': {
      const level = value.level
      if (level !== 'info' && level !== 'warn' && level !== 'error') return bad('log: bad level')
      if (typeof value.message !== 'string') return bad('log: message is not a string')
      return ok({ type: 'log', level, message: value.message.slice(0, MAX_LOG_LENGTH) })
    }
    case 'actor':
      return typeof value.actor === 'string' && ACTOR_ID.test(value.actor) ? ok({ type: 'actor', actor: value.actor }) : bad('actor: not an actor id')
    default:
      return bad(`unknown type ${JSON.stringify(String(value.type)).slice(0, 40)}`)
  }
}

export function parseMeshMessage(value: unknown): Parsed<MeshToHost> {
  if (!isRecord(value)) return bad('not an object')
  switch (value.type) {
    case 'ready':
      return ok({ type: 'ready' })
    case 'reveal':
      return typeof value.endpointId === 'string' && /^[0-9a-f]{64}$/.test(value.endpointId) ? ok({ type: 'reveal', endpointId: value.endpointId }) : bad('reveal: not an endpoint id')
    default:
      return bad(`unknown type ${JSON.stringify(String(value.type)).slice(0, 40)}`)
  }
}
