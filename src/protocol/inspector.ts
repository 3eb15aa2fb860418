// The document inspector's protocol: messages between webview-ui/inspector/main.ts and the extension
// host (src/extension/webviews/inspector.ts). Types only: both sides import it with `import type`.
//
// Handshake: the webview posts `ready` once its listener is installed; the host answers with a full
// `state` (and again after every `ready`, e.g. when the panel was hidden and restored), then sends `doc`
// and `peers` updates. Edits carry a `requestId` that the host's `result` answers.

/** A path into the document: object keys and array indexes from the root. [] is the root. */
export type ValuePath = Array<string | number>

/** JSON as the webview sends it for edits (JSON.parse output). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** A document value as the inspector shows it: JSON plus Automerge's own scalar types. */
export type InspectorValue =
  | { kind: 'object'; entries: Array<[string, InspectorValue]> }
  | { kind: 'array'; items: InspectorValue[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'counter'; value: number }
  | { kind: 'date'; value: string }
  | { kind: 'bytes'; length: number; hex: string }
  /** Anything else (kept readable, not editable). */
  | { kind: 'other'; text: string }

export interface HistoryEntry {
  hash: string
  actor: string
  seq: number
  /** ms since epoch (Automerge stores seconds; 0 when the writer gave none). */
  time: number
  message: string | null
  ops: number
}

export type PeerDocSync = 'in-sync' | 'behind' | 'unknown'

export interface PeerSyncView {
  endpointId: string
  name?: string
  /** Connection state of the peer (connected, connecting, backoff, …). */
  state: string
  sync: PeerDocSync
  /** The heads this peer last reported for the document, when it did. */
  theirHeads?: string[]
  /** When those heads arrived (ms since epoch). */
  lastSyncAt?: number
}

export interface DocView {
  /** undefined while the document is not available (not yet synced, deleted). */
  value?: InspectorValue
  heads: string[]
  /** The last changes, newest first. */
  history: HistoryEntry[]
  totalChanges: number
}

export interface InspectorState extends DocView {
  url: string
  documentId: string
  /** Path in the bundle's directory tree, when known. */
  path?: string
  peers: PeerSyncView[]
  /** Why this document cannot be edited here (a directory: its entries are the tree's bookkeeping). */
  readOnly?: string
}

export type HostToInspector =
  | { type: 'state'; state: InspectorState }
  | { type: 'doc'; doc: DocView }
  | { type: 'peers'; peers: PeerSyncView[] }
  | { type: 'result'; requestId: number; ok: true }
  | { type: 'result'; requestId: number; ok: false; error: string }
  /** The session stopped: the view keeps the last state, read-only. */
  | { type: 'session-ended' }

export type InspectorEdit =
  /** Replace the value at `path` (an existing key or index). */
  | { type: 'set'; requestId: number; path: ValuePath; value: JsonValue }
  /** Add `key` to the object at `path` (refused when it exists). */
  | { type: 'add-key'; requestId: number; path: ValuePath; key: string; value: JsonValue }
  /** Remove the key or array element at `path`. */
  | { type: 'delete'; requestId: number; path: ValuePath }

export type InspectorToHost = { type: 'ready' } | InspectorEdit
