// Links many documents into a session's tree in Tonk's VFS shapes in one go (a DirNode per folder, the
// root's PathIndex entries and children): what bulk catch-up tests and benchmarks need, much faster than
// a DocTree write per document.
import type { DocHandle, Repo } from '@automerge/automerge-repo/slim'

type Root = DocHandle<any>

/** Links `handles` into `root` as /name/<i>: bulk takes only documents its receiver's tree reaches. */
export function linkIntoTree(repo: Repo, root: Root, name: string, handles: DocHandle<unknown>[]): void {
  const timestamps = { created: 0, modified: 0 }
  const ref = (n: string, pointer: string, type: 'document' | 'directory') => ({ name: n, pointer, type, timestamps })
  const dir = repo.create({ type: 'directory', name, timestamps, children: handles.map((h, i) => ref(String(i), h.documentId, 'document')) })
  const entry = (docId: string, nodeType: 'document' | 'directory') => ({ doc_id: docId, node_type: nodeType, created: 0, modified: 0 })
  root.change((r: any) => {
    r.entries[`/${name}`] = entry(dir.documentId, 'directory')
    handles.forEach((h, i) => (r.entries[`/${name}/${i}`] = entry(h.documentId, 'document')))
    r.children.push(ref(name, dir.documentId, 'directory'))
  })
}
