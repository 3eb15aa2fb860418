// The bundle preview's protocol: messages between the webview page (the injected shim, see
// webview-ui/preview/main.ts and docs/injected-api.md) and the extension host
// (src/extension/webviews/preview.ts). Types only: both sides import it with `import type`.
//
// Handshake: the shim posts `ready` once it listens; only then does the host send `init` (a webview
// drops messages posted before its script runs). After `init` the shim starts its Repo, whose
// PostMessageNetworkAdapter exchanges `adapter` frames with the host's adapter of the same kind.

/** The automerge-repo peer metadata an adapter announces (plain data: it crosses postMessage). */
export interface WirePeerMetadata {
  storageId?: string
  isEphemeral?: boolean
}

/**
 * One frame of the PostMessageNetworkAdapter pair (src/shared/postmessage-adapter.ts). `arrive` is
 * sent on connect and answered with `welcome`; either one makes the sender a peer. `message` carries one
 * CBOR-encoded automerge-repo message. `leave` on disconnect.
 */
export type AdapterFrame =
  | { kind: 'arrive'; peerId: string; peerMetadata: WirePeerMetadata }
  | { kind: 'welcome'; peerId: string; peerMetadata: WirePeerMetadata }
  | { kind: 'leave'; peerId: string }
  | { kind: 'message'; bytes: Uint8Array }

export interface PreviewBundleInfo {
  name: string
  version: string
  bundleId: string
  namespace: string
}

/** What `init` tells the shim: enough to build `window.tonk`. */
export interface PreviewInit {
  /** The bundle's root directory document. */
  rootUrl: string
  /** `tonk.peerId`: the session's iroh endpoint id (stable per data dir). */
  peerId: string
  /** The session's peer name (`tonk.peerName`), shown to other peers in presence. */
  peerName?: string
  /**
   * The root directory document as the host has it (Automerge.save): the page starts from it instead
   * of waiting for a sync round trip, and syncs the rest as usual.
   */
  rootBytes?: Uint8Array
  bundle: PreviewBundleInfo
}

export type PreviewToHost =
  | { type: 'ready' }
  | { type: 'adapter'; frame: AdapterFrame }
  /** The shim reports its own failures (WASM, root document unavailable) to the extension's log. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** An Automerge actor the page changed a document with: the history names its changes "you". */
  | { type: 'actor'; actor: string }

export type HostToPreview =
  | { type: 'init'; init: PreviewInit }
  | { type: 'adapter'; frame: AdapterFrame }
  /** The session stopped: the page keeps its last state but no longer syncs. */
  | { type: 'session-ended' }
  /** The session's network changed: offline (Go Offline), or how many peers are connected. */
  | { type: 'network'; network: PreviewNetwork }
  /** The bundle was rebuilt (hot reload): the page is about to be replaced by the new build's. */
  | { type: 'reloading'; bundleId: string }

/** `tonk.network` in the page. */
export interface PreviewNetwork {
  online: boolean
  peers: number
}

/** What the shim keeps with VS Code (setState) so the panel comes back after a window reload. */
export interface PreviewPanelState {
  /** The app's name (bundle manifest name) the panel showed. */
  app: string
}
