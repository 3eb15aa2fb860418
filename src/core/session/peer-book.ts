// What a session knows about its peers beyond the adapter's live rows: how each was found (its source
// label), which ones our user disconnected (held until Reconnect), the peers of earlier runs to redial
// (known-peers.json), the rows of lost peers (recent-peers.ts) and the last refusals. The session
// calls it from its peer commands and adapter events; it touches no socket.
import type { PeerInfo, PeerRefusedEvent } from '../net/iroh-adapter'
import { readKnownPeers, rememberPeer, ticketOf, writeKnownPeers, type KnownPeer } from '../host/known-peers'
import type { Logger } from '../../shared/log'
import { firstLine } from '../util/text'
import { RecentPeers } from './recent-peers'
import type { PeerSource } from './types'

const REFUSED_KEPT = 50

export class PeerBook {
  private readonly recent = new RecentPeers()
  /** Peers our user disconnected; kept out until reconnect. */
  private readonly held = new Set<string>()
  private readonly sources = new Map<string, PeerSource>()
  private known: KnownPeer[] = []
  private knownWrite = Promise.resolve()
  private readonly refusals: PeerRefusedEvent[] = []
  /** When the session last went online (reconnecting rows count from it). */
  private onlineSince = Date.now()

  constructor(
    /** known-peers.json of the data dir. */
    private readonly knownPeersFile: string,
    private readonly log: Logger,
  ) {}

  /** The peers of earlier runs, to redial at start, minus the ones already being dialed. */
  async loadKnown(): Promise<string[]> {
    this.known = await readKnownPeers(this.knownPeersFile)
    return this.known.filter((k) => !this.sources.has(k.endpointId)).map(ticketOf)
  }

  /** Our user (or the session for them) dialed the peer: that undoes a disconnect. */
  dialed(endpointId: string, source: PeerSource): void {
    this.held.delete(endpointId)
    this.sources.set(endpointId, source)
  }

  hold(endpointId: string): void {
    this.held.add(endpointId)
  }

  /** Undoes hold(); says where to dial the peer (its known addresses and last direct path) and as what. */
  release(endpointId: string): { ticket?: string; source: PeerSource } {
    this.held.delete(endpointId)
    const known = this.known.find((k) => k.endpointId === endpointId)
    const last = this.recent.get(endpointId)?.path
    const addresses = [...new Set([...(known?.addresses ?? []), ...(last?.kind === 'direct' ? [last.remoteAddr] : [])])]
    const source = this.sources.get(endpointId) ?? 'ticket'
    return addresses.length ? { ticket: ticketOf({ endpointId, addresses, lastSeen: Date.now() }), source } : { source }
  }

  /** Discovery found the peer: its label, unless a person's dial or an earlier source named it. */
  found(endpointId: string, source: PeerSource): void {
    const current = this.sources.get(endpointId)
    if (current === undefined || current === 'incoming') this.sources.set(endpointId, source)
  }

  sourceOf(endpointId: string): PeerSource {
    return this.sources.get(endpointId) ?? 'incoming'
  }

  connected(p: PeerInfo): void {
    if (!this.sources.has(p.endpointId)) this.sources.set(p.endpointId, p.direction === 'inbound' ? 'incoming' : 'ticket')
    this.remember(p)
    this.recent.connected(p)
  }

  lost(endpointId: string): void {
    this.recent.lost(endpointId)
  }

  /** A peer the adapter no longer lists loses its label, so labels stay as few as the adapter's rows. */
  forgetIfGone(endpointId: string, stillListed: boolean): void {
    if (!stillListed) this.sources.delete(endpointId)
  }

  refused(e: PeerRefusedEvent): void {
    this.refusals.push(e)
    if (this.refusals.length > REFUSED_KEPT) this.refusals.shift()
  }

  get refusedList(): PeerRefusedEvent[] {
    return [...this.refusals]
  }

  wentOnline(): void {
    this.onlineSince = Date.now()
  }

  /** The adapter's rows, named and marked held, then the lost peers' rows, then `extra` (bridge peers). */
  rows(current: readonly PeerInfo[], online: boolean, extra: readonly PeerInfo[]): PeerInfo[] {
    const remembered = this.recent.rows(current, { online, onlineSince: this.onlineSince, held: this.held })
    // A dialed peer between connections has no hello of its own: name it as it was last seen.
    const named = (p: PeerInfo): PeerInfo =>
      p.name !== undefined ? p : { ...p, name: this.recent.get(p.endpointId)?.name ?? this.known.find((k) => k.endpointId === p.endpointId)?.name }
    const held = (p: PeerInfo): PeerInfo => (this.held.has(p.endpointId) && p.state !== 'connected' ? { ...p, state: 'disconnected' } : p)
    return [...current.map((p) => held(named(p))), ...remembered, ...extra]
  }

  /** Writes still running (known-peers.json), for stop(). */
  flushed(): Promise<void> {
    return this.knownWrite
  }

  /** Remembers a connected peer's direct address so the next start redials it (known-peers.json). */
  private remember(p: PeerInfo): void {
    if (!p.path || p.path.kind !== 'direct') return
    this.known = rememberPeer(this.known, { endpointId: p.endpointId, addresses: [p.path.remoteAddr], name: p.name, lastSeen: Date.now() })
    const list = this.known
    this.knownWrite = this.knownWrite
      .then(() => writeKnownPeers(this.knownPeersFile, list))
      .catch((err) => this.log.warn(`session: cannot save known peers: ${firstLine(err)}`))
  }
}
