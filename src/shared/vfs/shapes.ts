// Tonk's virtual file system shapes (tonk-labs/tonk packages/core/src/vfs/types.rs, path_index.rs and
// backend.rs): what DocTree reads and writes, field for field, so that Tonk reads what we write and the
// reverse (docs/tonk-format.md "The virtual file system").
//   root (the PathIndex and the "/" directory):
//     {type: "path_index", version: 2, last_updated, entries: {"/a/b": PathEntry}, children: RefNode[]}
//   directories: DirNode {type: "directory", name, timestamps, children: RefNode[]}
//   files: DocNode {type: "document", name, timestamps, content, bytes?}
// Times are integer milliseconds since the epoch. Document ids are bare (base58check, no "automerge:").
// Strings that name things (type, name, doc_id, node_type, pointer) are Automerge scalar strings, as Rust
// writes them: Tonk's reader takes no Text there. Reading, a string may come back as an ImmutableString.
// Types only: the host and the preview's in-page repo both read these shapes.
export type NodeType = 'document' | 'directory'

export interface Timestamps {
  created: number
  modified: number
}

/** One `entries` value of the root's PathIndex. The index is the source of truth for paths. */
export interface PathEntry {
  doc_id: string
  node_type: NodeType
  created: number
  modified: number
}

/** A DirNode's pointer at one child. */
export interface RefNode {
  name: string
  pointer: string
  type: NodeType
  timestamps: Timestamps
}

export interface DirNode {
  type: 'directory'
  name: string
  timestamps: Timestamps
  children: RefNode[]
}

export interface DocNode<T = unknown> {
  type: 'document'
  name: string
  timestamps: Timestamps
  /** JSON-like data (Tonk stores a primitive as {value: X}); with `bytes`, usually {mime}. */
  content: T
  bytes?: Uint8Array
}

/** The root document: Tonk's PathIndex plus the "/" directory's RefNode list. */
export interface RootDoc {
  type: 'path_index'
  version: 2
  last_updated: number
  entries: Record<string, PathEntry>
  children: RefNode[]
}

/** @deprecated the root is a {@link RootDoc}; kept for importers of the old name. */
export type DirectoryDoc = RootDoc
