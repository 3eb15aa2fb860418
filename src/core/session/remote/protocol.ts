// The engine worker's protocol: messages between a RemoteSession (remote-session.ts,
// on the host thread: the extension host, a CLI, an app) and the worker thread that runs the Session
// (engine-worker.ts). Types only: both sides import it with `import type`.
//
// Order: the host starts the worker with `EngineWorkerData` (the loaded bundle and the plain options);
// the worker answers `started` (or `failed`) once the Session runs. Then the host `call`s Session methods
// by name and the worker answers each with one `result`; the Session events the host `listen`s to arrive
// as `event`, log lines as `log`. The worker `ask`s the host what only the host can decide (the user
// approving a bundle's bootstrap peers) and the host `answer`s. A MessagePort handed over in `attach` carries automerge-repo
// frames (src/protocol/preview.ts AdapterFrame) between the engine's Repo and a Repo of the host's.
import type { MessagePort } from 'node:worker_threads'
import type { BundleHint } from '../../bundle/hints'
import type { LoadedBundle } from '../../bundle/load'
import type { LinkFault } from '../../net/link-fault'
import type { PeerInfo, TraceEvent } from '../../net/types'
import type { BulkCounters } from '../../protocols/bulk/frames'
import type { VfsSite } from '../../tonk/vfs-site'
import type {
  ActorName,
  DocSyncState,
  PeerSnapshot,
  PeerSource,
  SessionEvents,
  SessionOptions,
  SessionSnapshot,
  SessionState,
} from '../types'

/** SessionOptions as plain data: functions (logger, approveBundleHints) stay on the host and are proxied. */
export type WireSessionOptions = Omit<SessionOptions, 'logger' | 'approveBundleHints'> & {
  /** The host has an approveBundleHints: the worker asks it (`ask`) instead of dialing every hint. */
  askBundleHints?: boolean
  /** The host has a logger: the worker sends `log` lines at these levels. */
  logLevels?: LogLevel[]
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** workerData of the engine worker. */
export interface EngineWorkerData {
  bundle: LoadedBundle
  options: WireSessionOptions
}

/** What the host knows of the Session without asking: sent with `started` and every `status`. */
export interface EngineStatus {
  state: SessionState
  online: boolean
  endpointId?: string
  ticket?: string
  peerName: string
  tonk?: { rootId: string; entrypoints: string[] }
}

/**
 * The Session methods a host may call, their arguments and results (all plain data). Each is the
 * Session method of that name, except `resolvePath` (the document tree's resolve) and `readyCount`
 * (how many of these document ids are ready in the engine's Repo: waiting without pulling them over).
 */
export interface EngineCalls {
  snapshot: { args: []; result: SessionSnapshot }
  peers: { args: []; result: PeerSnapshot[] }
  trace: { args: []; result: TraceEvent[] }
  networkSummary: { args: []; result: { online: boolean; peers: number } }
  dial: { args: [ticket: string, source?: PeerSource, strict?: boolean]; result: string | undefined }
  disconnectPeer: { args: [endpointId: string]; result: void }
  reconnectPeer: { args: [endpointId: string]; result: boolean }
  goOffline: { args: []; result: void }
  goOnline: { args: []; result: void }
  setLinkFault: { args: [endpointId: string, fault: LinkFault | undefined]; result: void }
  pathOf: { args: [url: string]; result: string | undefined }
  resolvePath: { args: [path: string]; result: string | undefined }
  actorNames: { args: [actors: string[]]; result: Record<string, ActorName> }
  recordOwnActor: { args: [actor: string]; result: void }
  exportTonk: { args: []; result: { bytes: Uint8Array; documents: number; rootId: string } }
  bulkCounters: { args: []; result: BulkCounters | undefined }
  readyCount: { args: [documentIds: string[]]; result: number }
  /** Serves another build of the app (hot reload): the host keeps the bundle it passed. */
  reloadBundle: { args: [bundle: LoadedBundle]; result: void }
  /** The document tree's writeDoc: a document at `path` (directories made), its url. */
  writeDoc: { args: [path: string, value: object]; result: string }
  /** Peer ids the engine's Repo syncs with (its iroh peers, the host's mirror, pages). */
  repoPeers: { args: []; result: string[] }
  /** The root document's url and, once loaded, its saved bytes (a page starts from them). */
  rootSnapshot: { args: []; result: { url: string; bytes?: Uint8Array } }
  /** A .tonk's app: the first entrypoint that is a VFS file or folder with index.html, copied under `dir`. */
  previewSite: { args: [entrypoints: string[], dir: string]; result: VfsSite | undefined }
  /** Of a VFS folder's paths and heads: equal keys, equal files (the preview reloads on a new one). */
  siteKey: { args: [folder: string]; result: string }
  /** Session.peerList: peer rows with their source, links and sync round trip (the mesh graph). */
  peerList: { args: []; result: Array<PeerInfo & Pick<PeerSnapshot, 'source' | 'links' | 'syncRttMs'>> }
  /** One document against each peer: its sync state and the heads that peer last reported (inspector). */
  docPeers: { args: [documentId: string]; result: DocPeer[] }
  discoverySources: { args: []; result: string[] }
}

/** One document as one peer has it (EngineCalls.docPeers). */
export interface DocPeer {
  endpointId: string
  name?: string
  state: string
  sync: DocSyncState
  theirHeads?: string[]
  /** When those heads arrived (ms since epoch). */
  lastSyncAt?: number
}

export type EngineMethod = keyof EngineCalls

/** An error as it crosses: its message and, for the engine's typed errors, the code (E_…). */
export interface WireError {
  name: string
  message: string
  code?: string
}

export type HostToWorker =
  | { kind: 'call'; id: number; method: EngineMethod; args: unknown[] }
  | { kind: 'answer'; id: number; ok: true; value: unknown }
  | { kind: 'answer'; id: number; ok: false; error: WireError }
  /** The host listens to this Session event now (or no longer): from here on it crosses (or not). */
  | { kind: 'listen' | 'unlisten'; name: keyof SessionEvents }
  /**
   * A Repo of the host's (its mirror, a preview page's, relayed) speaks over `port`: the worker adds an
   * adapter on the other end to the engine's Repo (guarded like any attached adapter) until `detach`.
   */
  | { kind: 'attach'; id: number; name: string; port: MessagePort }
  | { kind: 'detach'; id: number }
  /** Log lines at these levels cross from now on (the host's log level changed). */
  | { kind: 'log-levels'; levels: LogLevel[] }
  | { kind: 'stop' }

export type WorkerToHost =
  | { kind: 'started'; status: EngineStatus }
  | { kind: 'failed'; error: WireError }
  | { kind: 'status'; status: EngineStatus }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: WireError }
  | { [K in keyof SessionEvents]: { kind: 'event'; name: K; args: SessionEvents[K] } }[keyof SessionEvents]
  | { kind: 'log'; level: LogLevel; message: string }
  | { kind: 'ask'; id: number; what: 'approveBundleHints'; hints: BundleHint[] }
  | { kind: 'stopped' }
