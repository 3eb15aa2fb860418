// The Mesh view's protocol (one per webview): the host sends the graph, the page asks to reveal a peer.

export interface MeshNode {
  /** Endpoint id. */
  id: string
  name?: string
  /** This session. */
  self?: boolean
  /** Linked to this session (else only known from a peer's link report). */
  direct: boolean
  /** Our view of a direct peer: connected, reconnecting, offline… */
  state?: string
  /** How we found it (mdns, ticket, exchange, …). */
  foundBy?: string
  /** Its build, when another than ours. */
  otherBuild?: boolean
}

export interface MeshEdge {
  from: string
  to: string
  path: 'direct' | 'relay' | 'unknown'
  /** QUIC's round trip (below our framing). */
  rttMs?: number
  /** Our own links: a ping's round trip through our framing, where link faults apply (what sync sees). */
  syncRttMs?: number
  /** A fault on this link (tonk-p2p link), e.g. "delay 200ms": ours, or as the reporting peer says. */
  fault?: string
  /** Known from a peer's link report, not one of our own links. */
  reported: boolean
}

export interface MeshGraph {
  nodes: MeshNode[]
  edges: MeshEdge[]
}

export type HostToMesh = { type: 'mesh'; graph: MeshGraph } | { type: 'session-ended' }

export type MeshToHost = { type: 'ready' } | { type: 'reveal'; endpointId: string }
