// A document's past, for the inspector and `tonk-p2p doc history|get --at|diff|restore`: its changes
// (metadata only: Automerge 3 reads them without decoding ops, so listing 10,000 changes is cheap), its
// value at any heads, the paths that differ between two points, and "restore" as a new change on top
// (history is never rewritten: peers keep every change, and the restore syncs like any edit).
import { Automerge, decodeHeads, type UrlHeads } from '@automerge/automerge-repo/slim'
import { HEX64 } from '../util/text'

export interface ChangeEntry {
  /** Position in causal order (0 = the first change). */
  index: number
  hash: string
  actor: string
  seq: number
  /** ms since the epoch as the writer's clock said; 0 when the writer recorded none. */
  time: number
  message: string | null
  deps: string[]
  /** How many operations the change holds (maxOp - startOp + 1). */
  ops: number
}

export interface HistoryPage {
  total: number
  heads: string[]
  changes: ChangeEntry[]
}

export interface PathDiff {
  added: string[]
  removed: string[]
  changed: string[]
}

export class HistoryError extends Error {
  constructor(
    readonly code: 'E_DOC_HEADS',
    message: string,
  ) {
    super(message)
  }
}

/** The most one page returns: the inspector virtualises, the CLI pages with --offset. */
export const MAX_HISTORY_PAGE = 1000

/** `offset`/`limit` page through changes in causal order; a negative offset counts from the end. */
export function historyPage(doc: Automerge.Doc<unknown>, offset = 0, limit = 100): HistoryPage {
  const metas = Automerge.getChangesMetaSince(doc, [])
  const total = metas.length
  const start = offset < 0 ? Math.max(0, total + offset) : Math.min(offset, total)
  const end = Math.min(total, start + Math.max(0, Math.min(limit, MAX_HISTORY_PAGE)))
  const changes = metas.slice(start, end).map((m, i) => ({
    index: start + i,
    hash: m.hash,
    actor: m.actor,
    seq: m.seq,
    time: m.time > 0 ? m.time * 1000 : 0, // Automerge stores seconds
    message: m.message,
    deps: m.deps,
    ops: m.maxOp - m.startOp + 1,
  }))
  return { total, heads: Automerge.getHeads(doc), changes }
}

const HEADS_HELP = 'heads are change hashes, comma-separated: 64 hex characters as `doc history` prints them, or base58 as `doc get` and automerge-repo print them'

/** One head in either spelling → hex; undefined when it is neither. */
function hexHead(head: unknown): string | undefined {
  if (typeof head !== 'string' || head.length > 128) return undefined
  if (HEX64.test(head)) return head
  try {
    const [hex] = decodeHeads([head] as UrlHeads)
    return hex && HEX64.test(hex) ? hex : undefined
  } catch {
    return undefined
  }
}

/** Reads `a,b` or `["a","b"]` (hex or base58 hashes); throws E_DOC_HEADS. */
export function parseHeads(text: string | readonly string[]): string[] {
  const list = typeof text === 'string' ? text.split(',').map((h) => h.trim()).filter(Boolean) : [...text]
  const hex = list.map(hexHead)
  if (list.length === 0 || list.length > 64 || hex.some((h) => h === undefined)) throw new HistoryError('E_DOC_HEADS', HEADS_HELP)
  return hex as string[]
}

function requireHeads(doc: Automerge.Doc<unknown>, heads: string[]): void {
  if (!Automerge.hasHeads(doc, heads)) {
    throw new HistoryError('E_DOC_HEADS', `this copy of the document has no change ${heads.find((h) => !Automerge.hasHeads(doc, [h])) ?? heads[0]}`)
  }
}

/** The document's value as it was at `heads` (a plain JSON-like value). */
export function valueAt(doc: Automerge.Doc<unknown>, heads: string[]): unknown {
  requireHeads(doc, heads)
  return Automerge.toJS(Automerge.view(doc, heads))
}

const pathText = (path: readonly (string | number)[]) => '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

/** Which paths were added, removed or changed from `from` to `to` (JSON-pointer style, deepest first seen). */
export function diffPaths(doc: Automerge.Doc<unknown>, from: string[], to: string[]): PathDiff {
  requireHeads(doc, from)
  requireHeads(doc, to)
  const before = Automerge.view(doc, from) as Record<string, unknown>
  const added = new Set<string>()
  const removed = new Set<string>()
  const changed = new Set<string>()
  for (const patch of Automerge.diff(doc, from, to)) {
    const path = patch.path
    if (patch.action === 'del') {
      removed.add(pathText(path))
    } else if (patch.action === 'put' && typeof path[path.length - 1] === 'string' && !hasPath(before, path)) {
      added.add(pathText(path))
    } else if (patch.action === 'insert') {
      added.add(pathText(path))
    } else {
      changed.add(pathText(typeof path[path.length - 1] === 'number' && patch.action === 'splice' ? path.slice(0, -1) : path))
    }
  }
  // A path under one that was added (or removed) is part of that entry, not news of its own.
  const under = (p: string, set: Set<string>) => [...set].some((q) => p !== q && p.startsWith(`${q}/`))
  for (const p of [...added]) if (under(p, added)) added.delete(p)
  for (const p of [...removed]) if (under(p, removed)) removed.delete(p)
  for (const p of [...changed]) if (added.has(p) || under(p, added) || under(p, removed)) changed.delete(p)
  return { added: [...added].sort(), removed: [...removed].sort(), changed: [...changed].sort() }
}

function hasPath(root: unknown, path: readonly (string | number)[]): boolean {
  let at: unknown = root
  for (const p of path) {
    if (at === null || typeof at !== 'object' || !(p in (at as object))) return false
    at = (at as Record<string | number, unknown>)[p]
  }
  return true
}

/** The value to restore: the document at `heads` (checked), to hand to `applyRestore` inside a change. */
export function restoreTarget(doc: Automerge.Doc<unknown>, heads: string[]): Record<string, unknown> {
  return valueAt(doc, heads) as Record<string, unknown>
}

/**
 * Makes the change proxy `target` equal `old` with the fewest writes it can see cheaply: keys that
 * differ are rewritten (maps recursively, lists and scalars whole), keys that are new are deleted.
 * (Automerge's applyPatches of diff(now → then) would be smaller still, but it refuses the patches
 * diff produces for text edits.) Returns how many keys it wrote or deleted.
 */
export function applyRestore(target: Record<string, unknown>, old: Record<string, unknown>): number {
  let writes = 0
  for (const key of Object.keys(target)) {
    if (!(key in old)) {
      delete target[key]
      writes++
    }
  }
  for (const [key, value] of Object.entries(old)) {
    const now = target[key]
    if (isPlainObject(value) && isPlainObject(now)) {
      writes += applyRestore(now as Record<string, unknown>, value as Record<string, unknown>)
    } else if (JSON.stringify(toPlain(now)) !== JSON.stringify(value)) {
      target[key] = structuredClone(value)
      writes++
    }
  }
  return writes
}

const isPlainObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array)
const toPlain = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)))
