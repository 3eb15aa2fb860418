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

// Time travel: the whole history, paged (the page virtualises it), the document at any change
// (read-only), the paths that differ between two points, and "restore" as a new change.

/** One change of the full history; `index` counts from the first change (0). */
export interface HistoryRow extends HistoryEntry {
  index: number
  /** Made by this session (our actor in this document). */
  mine: boolean
  /** Who wrote it, when known: 'you' (this peer, any run) or the name of the peer that says the actor is its own. */
  by?: string
}

/** A point in the history: the change at `index` (the document as of that change), or now. */
export type HistoryPoint = { index: number; hash: string } | 'now'

export interface PathDiffView {
  added: string[]
  removed: string[]
  changed: string[]
}

/** Largest page the page may ask for. */
export const MAX_HISTORY_ROWS = 500

export type HostToInspector =
  | { type: 'state'; state: InspectorState }
  | { type: 'doc'; doc: DocView }
  | { type: 'peers'; peers: PeerSyncView[] }
  | { type: 'result'; requestId: number; ok: true }
  | { type: 'result'; requestId: number; ok: false; error: string }
  /** The session stopped: the view keeps the last state, read-only. */
  | { type: 'session-ended' }
  | { type: 'history-page'; requestId: number; offset: number; total: number; changes: HistoryRow[] }
  | { type: 'value-at'; requestId: number; at: HistoryPoint; value: InspectorValue }
  | { type: 'diff'; requestId: number; from: HistoryPoint; to: HistoryPoint; diff: PathDiffView }

export type InspectorEdit =
  /** Replace the value at `path` (an existing key or index). */
  | { type: 'set'; requestId: number; path: ValuePath; value: JsonValue }
  /** Add `key` to the object at `path` (refused when it exists). */
  | { type: 'add-key'; requestId: number; path: ValuePath; key: string; value: JsonValue }
  /** Remove the key or array element at `path`. */
  | { type: 'delete'; requestId: number; path: ValuePath }

export type InspectorTimeTravel =
  /** Changes `offset … offset+limit-1` in causal order (limit ≤ MAX_HISTORY_ROWS). */
  | { type: 'history'; requestId: number; offset: number; limit: number }
  | { type: 'value-at'; requestId: number; at: { index: number; hash: string } }
  | { type: 'diff'; requestId: number; from: HistoryPoint; to: HistoryPoint }
  /** Make the document equal to what it was at that change, as one new change (answered by `result`). */
  | { type: 'restore'; requestId: number; at: { index: number; hash: string } }

export type InspectorToHost = { type: 'ready' } | InspectorEdit | InspectorTimeTravel

/** What the page keeps with VS Code (setState) so the panel comes back after a window reload. */
export interface InspectorPanelState {
  documentId: string
  path?: string
}
