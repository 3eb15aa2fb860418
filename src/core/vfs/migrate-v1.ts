// One-time copy of a v1 data dir's tree into the v2 (Tonk) model, when a bundle opens its data dir
// (docs/bundle-format.md "Root document"). v1 kept a keepsync-style tree: directory documents
// {type: "dir", children: {name: {type: "doc" | "dir", pointer: automerge URL, timestamps}}} from a root
// at legacyRootDocumentId(namespace), and a document's content at its top level. v2 is Tonk's PathIndex
// at rootDocumentId(namespace).
//
// The v1 documents are left as they are (a peer still on v1 keeps using them and never sees v2's), and
// copied, not moved: each v1 document becomes a new DocNode/DirNode whose id, actor and change are derived
// from the v1 document's id and heads, so two peers migrating the same v1 state make identical
// documents and an identical root change (Automerge deduplicates them), and peers migrating different
// states make documents that merge like any concurrent edit. Paths the v2 index already has are kept.
// A marker in storage makes it run at most once per data dir: data a v1 peer sends later is not
// copied again (nor resurrected after a v2 rm).
import { createHash } from 'node:crypto'
import { Automerge, type DocHandle, type DocumentId, type Repo } from '@automerge/automerge-repo/slim'
import type { NodeType, RootDoc } from '../../shared/vfs/shapes'
import { isRecord, millis, scalar, text, toPlain } from '../../shared/vfs/values'
import type { Logger } from '../../shared/log'
import type { CrashSafeStorageAdapter } from '../store/storage'
import { derivedDocumentId } from './root-document'

const MARKER_KEY = ['vfs-migration', 'v1-to-v2']
const FIND_TIMEOUT_MS = 5000

interface V1Node {
  path: string
  type: NodeType
  v1Id: DocumentId
  created: number
  modified: number
}

export interface MigrationResult {
  /** Paths added to the v2 index. */
  migrated: number
  /** v1 paths not copied (document not in storage, or the v2 index already had the path). */
  skipped: string[]
}

const sha = (text: string) => createHash('sha256').update(text).digest()
const actorFor = (label: string) => sha(label).subarray(0, 16).toString('hex')
const migratedId = (v1Id: string) => derivedDocumentId(`tonk-vfs-migrated:v2:${v1Id}`)
const idOfUrl = (url: unknown): DocumentId | undefined => {
  const s = text(url)
  if (!s?.startsWith('automerge:')) return undefined
  return s.slice('automerge:'.length).split('#')[0] as DocumentId
}
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1)

async function stored(storage: CrashSafeStorageAdapter, id: DocumentId): Promise<boolean> {
  return (await storage.loadRange([id, 'snapshot'])).length + (await storage.loadRange([id, 'incremental'])).length > 0
}

/**
 * Copies the v1 tree at `legacyRootId` into `root` once (see the header). Undefined when it had run
 * already; reads only local storage (never waits for peers).
 */
export async function migrateV1Tree(options: {
  repo: Repo
  storage: CrashSafeStorageAdapter
  root: DocHandle<RootDoc>
  legacyRootId: DocumentId
  logger: Logger
}): Promise<MigrationResult | undefined> {
  const { repo, storage, root, legacyRootId, logger: log } = options
  if (await storage.load(MARKER_KEY)) return undefined
  const result: MigrationResult = { migrated: 0, skipped: [] }
  if (await stored(storage, legacyRootId)) {
    const nodes: V1Node[] = []
    const docs = new Map<DocumentId, Automerge.Doc<unknown>>()
    const load = async (id: DocumentId) => {
      if (!(await stored(storage, id))) return undefined
      const handle = await repo.find(`automerge:${id}` as never, { signal: AbortSignal.timeout(FIND_TIMEOUT_MS) })
      const doc = handle.doc() as Automerge.Doc<unknown>
      docs.set(id, doc)
      return doc
    }
    const visit = async (dir: unknown, prefix: string, seen: Set<DocumentId>) => {
      const children = isRecord(dir) ? dir.children : undefined
      if (!isRecord(children)) return
      for (const name of Object.keys(children).sort()) {
        const child = children[name]
        const v1Id = isRecord(child) ? idOfUrl(child.pointer) : undefined
        const path = `${prefix}/${name}`
        if (!isRecord(child) || !v1Id || name === '' || name.includes('/') || seen.has(v1Id)) {
          result.skipped.push(path)
          continue
        }
        const doc = await load(v1Id).catch(() => undefined)
        if (!doc) {
          result.skipped.push(path)
          continue
        }
        const ts = isRecord(child.timestamps) ? child.timestamps : {}
        const type: NodeType = text(child.type) === 'dir' ? 'directory' : 'document'
        nodes.push({ path, type, v1Id, created: millis(ts.created), modified: millis(ts.modified) })
        if (type === 'directory') await visit(doc, path, new Set([...seen, v1Id]))
      }
    }
    const legacyRoot = await load(legacyRootId)
    await visit(legacyRoot, '', new Set([legacyRootId]))
    result.migrated = await writeV2(repo, root, nodes, docs, result.skipped)
    log.info(`docs: copied ${result.migrated} paths of the v1 tree ${legacyRootId} into the Tonk model${result.skipped.length ? ` (${result.skipped.length} skipped)` : ''}`)
  }
  await storage.save(MARKER_KEY, new TextEncoder().encode(JSON.stringify({ from: legacyRootId, migrated: result.migrated })))
  return result
}

async function writeV2(
  repo: Repo,
  root: DocHandle<RootDoc>,
  nodes: V1Node[],
  docs: Map<DocumentId, Automerge.Doc<unknown>>,
  skipped: string[],
): Promise<number> {
  const existing = isRecord(root.doc()?.entries) ? root.doc().entries : {}
  const todo = nodes.filter((n) => {
    if (!(n.path in existing)) return true
    skipped.push(n.path)
    return false
  })
  const childrenOf = (dir: string) => todo.filter((n) => n.path.slice(0, n.path.lastIndexOf('/')) === dir)
  const ref = (n: V1Node) => ({
    name: scalar(baseName(n.path)),
    pointer: scalar(migratedId(n.v1Id)),
    type: scalar(n.type) as NodeType,
    timestamps: { created: n.created, modified: n.modified },
  })

  for (const node of todo) {
    const v1 = docs.get(node.v1Id)!
    const id = migratedId(node.v1Id)
    const actor = actorFor(`tonk-vfs-migrated-actor:${node.v1Id}:${[...Automerge.getHeads(v1)].sort().join(',')}`)
    const made = Automerge.change(Automerge.init<Record<string, unknown>>({ actor }), { time: 0, message: 'copied from the v1 tree' }, (d) => {
      d.type = scalar(node.type)
      d.name = scalar(baseName(node.path))
      d.timestamps = { created: node.created, modified: node.modified }
      if (node.type === 'directory') d.children = childrenOf(node.path).map(ref)
      else d.content = toPlain(v1) as Record<string, unknown>
    })
    const bytes = Automerge.save(made)
    if (repo.handles[id]) repo.handles[id]!.update((doc) => Automerge.loadIncremental(doc, bytes))
    else repo.import(bytes, { docId: id })
  }
  await repo.flush(todo.map((n) => migratedId(n.v1Id)))
  if (todo.length === 0) return 0

  // The index entries and the "/" RefNodes in one change, made on a copy with an actor derived from
  // both trees' heads (equal states make the identical change) and applied to the root's own history.
  const actor = actorFor(`tonk-vfs-migrated-root:${[...Automerge.getHeads(root.doc())].sort().join(',')}:${todo.map((n) => `${n.path}=${[...Automerge.getHeads(docs.get(n.v1Id)!)].sort().join(',')}`).join('|')}`)
  const copy = Automerge.clone(root.doc(), { actor })
  const changed = Automerge.change(copy, { time: 0, message: 'v1 tree copied into the PathIndex' }, (d) => {
    const doc = d as unknown as Record<string, any>
    if (!isRecord(doc.entries)) doc.entries = {}
    for (const n of todo) {
      doc.entries[n.path] = { doc_id: scalar(migratedId(n.v1Id)), node_type: scalar(n.type), created: n.created, modified: n.modified }
    }
    if (!Array.isArray(doc.children)) doc.children = []
    const names = new Set((doc.children as unknown[]).map((c) => (isRecord(c) ? text(c.name) : undefined)))
    for (const n of todo) if (!n.path.slice(1).includes('/') && !names.has(baseName(n.path))) doc.children.push(ref(n))
  })
  const change = Automerge.getLastLocalChange(changed)
  if (change) root.update((doc) => Automerge.applyChanges(doc, [change])[0])
  await repo.flush([root.documentId])
  return todo.length
}
