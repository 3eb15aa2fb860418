// The peers the Repo knows about (announced with peer-candidate), by endpoint id and by automerge peer
// id, and the rows a peers view shows: connected peers, connections still in handshake, and dialed
// peers waiting for their next attempt.
import type { PeerId } from '@automerge/automerge-repo/slim'
import type { HelloMessage } from './handshake'
import type { Link } from './links'
import type { DialState } from './dialer'
import type { PeerInfo } from './types'

/** A remote the Repo knows about. It has one active link, none while a duplicate is being swapped. */
export class Peer {
  link: Link | undefined
  /** Messages sent while the peer is between two connections (a duplicate being swapped). */
  pending: Uint8Array[] = []
  pendingBytes = 0
  swapTimer: NodeJS.Timeout | undefined
  bytesIn = 0
  bytesOut = 0
  lastSeen: number | undefined
  readonly connectedAt = Date.now()
  constructor(
    readonly endpointId: string,
    readonly hello: HelloMessage,
  ) {}

  get peerId(): PeerId {
    return this.hello.peerId as PeerId
  }
}

export class PeerTable {
  private readonly byEndpoint = new Map<string, Peer>()
  private readonly byPeerIdMap = new Map<PeerId, Peer>()

  get size(): number {
    return this.byEndpoint.size
  }

  get(endpointId: string): Peer | undefined {
    return this.byEndpoint.get(endpointId)
  }

  byPeerId(peerId: PeerId): Peer | undefined {
    return this.byPeerIdMap.get(peerId)
  }

  values(): IterableIterator<Peer> {
    return this.byEndpoint.values()
  }

  add(peer: Peer): void {
    this.byEndpoint.set(peer.endpointId, peer)
    this.byPeerIdMap.set(peer.peerId, peer)
  }

  /** Forgets `peer` (false if another peer took its place meanwhile); its swap timer and queue go too. */
  remove(peer: Peer): boolean {
    if (this.byEndpoint.get(peer.endpointId) !== peer) return false
    this.byEndpoint.delete(peer.endpointId)
    if (this.byPeerIdMap.get(peer.peerId) === peer) this.byPeerIdMap.delete(peer.peerId)
    if (peer.swapTimer) clearTimeout(peer.swapTimer)
    peer.pending = []
    return true
  }
}

/** A connected (or reconnecting) peer's row. */
export function describePeer(peer: Peer, dialed: boolean, connections: number): PeerInfo {
  const link = peer.link
  const info: PeerInfo = {
    endpointId: peer.endpointId,
    peerId: peer.peerId,
    name: peer.hello.peerName,
    state: link ? 'connected' : 'reconnecting',
    direction: link?.direction,
    bytesIn: peer.bytesIn,
    bytesOut: peer.bytesOut,
    connectedAt: peer.connectedAt,
    lastSeen: peer.lastSeen ?? peer.connectedAt,
    dialed,
    build: peer.hello.bundleId,
    connections,
    features: peer.hello.features ?? [],
  }
  if (link) {
    try {
      const paths = link.conn.paths()
      const selected = paths.find((p) => p.isSelected) ?? paths[0]
      if (selected) {
        info.path = { kind: selected.isRelay ? 'relay' : 'direct', remoteAddr: selected.remoteAddr, rttMs: selected.rttMs }
      }
      info.rttMs = link.conn.rtt() ?? selected?.rttMs
    } catch {
      // The connection is closing; no path to show.
    }
  }
  return info
}

/** Everything a peers view shows: connected peers, connections in handshake, dialed peers waiting. */
export function peerRows(input: {
  peers: Iterable<Peer>
  links: Iterable<Link>
  targets: Iterable<Readonly<DialState<unknown>>>
  dialed: (endpointId: string) => boolean
  connections: (endpointId: string) => number
  offline: boolean
}): PeerInfo[] {
  const rows = new Map<string, PeerInfo>()
  for (const peer of input.peers) rows.set(peer.endpointId, describePeer(peer, input.dialed(peer.endpointId), input.connections(peer.endpointId)))
  for (const link of input.links) {
    if (rows.has(link.endpointId) || (link.state !== 'handshaking' && link.state !== 'parked')) continue
    rows.set(link.endpointId, {
      endpointId: link.endpointId,
      state: link.state === 'parked' ? 'standby' : 'handshaking',
      direction: link.direction,
      bytesIn: 0,
      bytesOut: 0,
      dialed: input.dialed(link.endpointId),
      connections: input.connections(link.endpointId),
    })
  }
  for (const t of input.targets) {
    if (rows.has(t.endpointId)) continue
    rows.set(t.endpointId, {
      endpointId: t.endpointId,
      state: input.offline ? 'offline' : t.inFlight ? 'dialing' : 'backoff',
      direction: 'outbound',
      bytesIn: 0,
      bytesOut: 0,
      nextAttemptAt: t.nextAttemptAt,
      lastError: t.lastError,
      dialed: true,
      connections: 0,
    })
  }
  return [...rows.values()]
}
