// What a bulk docs frame may make us store (issue 12): a document we hold (in memory or in storage), one
// we asked for (a handle waits for it), or one reachable from our tree: pointed at by a directory
// document we hold, or by one accepted from the same catch-up by this same rule. Anything else is
// refused; without the rule a peer could fill our storage with valid documents nobody can reach.
// Pure parts and small bookkeeping; bulk.ts does the applying.
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { text } from '../../../shared/vfs/values'

export type BulkRejectCode = 'E_BULK_MALFORMED' | 'E_BULK_UNREACHABLE' | 'E_BULK_QUOTA' | 'E_BULK_UNMERGEABLE'

const WHY: Record<BulkRejectCode, string> = {
  E_BULK_MALFORMED: 'malformed entries or bytes that are not Automerge data',
  E_BULK_UNREACHABLE: 'not ours, not asked for, not reachable from our tree',
  E_BULK_QUOTA: "over the peer's documents per minute",
  E_BULK_UNMERGEABLE: 'could not be merged',
}

const URL_PREFIX = 'automerge:'
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/

/** A pointer as a document id: Tonk's bare id or an automerge URL; a scalar (Rust) string or a JS one. */
function pointerId(value: unknown): DocumentId | undefined {
  const pointer = text(value)
  if (pointer === undefined) return undefined
  if (!pointer.startsWith(URL_PREFIX)) return BASE58.test(pointer) ? (pointer as DocumentId) : undefined
  const hash = pointer.indexOf('#')
  return pointer.slice(URL_PREFIX.length, hash < 0 ? undefined : hash) as DocumentId
}

/**
 * The document ids a directory document points at, or undefined when `doc` is not a directory. In the
 * VFS (src/shared/vfs/shapes.ts) that is the root's PathIndex (every entry's doc_id: the index is flat,
 * so the root reaches every path) and a DirNode's children. Ids are not validated (a base58check per
 * entry would cost more than the rest): they are only compared with ids that were.
 */
export function dirChildIds(doc: unknown): DocumentId[] | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined
  const type = text((doc as { type?: unknown }).type)
  const ids: DocumentId[] = []
  const add = (entries: unknown, key: 'doc_id' | 'pointer') => {
    if (typeof entries !== 'object' || entries === null) return
    for (const entry of Object.values(entries)) {
      const id = typeof entry === 'object' && entry !== null ? pointerId((entry as Record<string, unknown>)[key]) : undefined
      if (id) ids.push(id)
    }
  }
  if (type === 'path_index') {
    add((doc as { entries?: unknown }).entries, 'doc_id')
    add((doc as { children?: unknown }).children, 'pointer')
  } else if (type === 'directory') add((doc as { children?: unknown }).children, 'pointer')
  else return undefined
  return ids
}

/**
 * `items` in the order a receiver can check as they arrive: directories first, each after the directory
 * that points at it (breadth-first from the ones nothing points at; a cycle goes after), then the other
 * documents in their given order. `childrenOf` is undefined for a document that is not a directory.
 */
export function treeOrder<T>(items: readonly T[], idOf: (item: T) => DocumentId, childrenOf: (item: T) => DocumentId[] | undefined): T[] {
  const dirs = new Map<DocumentId, { item: T; children: DocumentId[] }>()
  const rest: T[] = []
  for (const item of items) {
    const children = childrenOf(item)
    if (children) dirs.set(idOf(item), { item, children })
    else rest.push(item)
  }
  const pointed = new Set<DocumentId>()
  for (const { children } of dirs.values()) for (const c of children) if (dirs.has(c)) pointed.add(c)
  const queue = [...dirs.keys()].filter((id) => !pointed.has(id))
  const seen = new Set(queue)
  const out: T[] = []
  for (let i = 0; i < queue.length; i++) {
    const dir = dirs.get(queue[i]!)!
    out.push(dir.item)
    for (const c of dir.children) {
      if (dirs.has(c) && !seen.has(c)) {
        seen.add(c)
        queue.push(c)
      }
    }
  }
  for (const [id, { item }] of dirs) if (!seen.has(id)) out.push(item)
  return [...out, ...rest]
}

/**
 * Documents a peer may have applied per window (a fixed minute by default). Kept per endpoint across
 * reconnects, so dropping the connection does not refill it.
 */
export class DocQuota {
  private readonly windows = new Map<string, { start: number; used: number }>()

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one document from `peer`'s allowance; false when this window's is spent. */
  take(peer: string): boolean {
    const t = this.now()
    let w = this.windows.get(peer)
    if (!w || t - w.start >= this.windowMs) {
      this.forgetOld(t)
      w = { start: t, used: 0 }
      this.windows.set(peer, w)
    }
    if (w.used >= this.limit) return false
    w.used++
    return true
  }

  private forgetOld(t: number): void {
    for (const [peer, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(peer)
  }
}

/** A frame's refused documents by code: counted as they come, logged together in one line. */
export class Rejections {
  private readonly byCode = new Map<BulkRejectCode, { count: number; example: string }>()
  private total = 0
  /** Set once the line is logged: later ones (a merge after a slow load) get a line of their own. */
  reported = false

  add(code: BulkRejectCode, id: string, detail?: string): void {
    const seen = this.byCode.get(code)
    if (seen) seen.count++
    else this.byCode.set(code, { count: 1, example: detail ? `${id}: ${detail}` : id })
    this.total++
  }

  get count(): number {
    return this.total
  }

  /** "E_BULK_UNREACHABLE ×500 (not ours, …; e.g. 2abc…)", or undefined when nothing was refused. */
  summary(): string | undefined {
    if (this.total === 0) return undefined
    return [...this.byCode].map(([code, { count, example }]) => `${code} ×${count} (${WHY[code]}; e.g. ${example})`).join(', ')
  }
}
