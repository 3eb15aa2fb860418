// Peers this session was connected to, so a view can say what happened to them instead of letting them
// vanish: while we are offline they stay listed as "offline (you)"; a peer our user disconnected stays
// "disconnected" until Reconnect; after going online (or losing a peer) it shows "reconnecting" for a
// grace period, then goes. Bounded: the most recent MAX_RECENT peers.
import type { PeerInfo } from '../net/iroh-adapter'

const MAX_RECENT = 256
/** How long a lost peer shows as reconnecting before its row goes. */
export const RECONNECT_GRACE_MS = 30_000

interface Recent {
  info: PeerInfo
  lostAt?: number
}

export interface RecentPeersContext {
  online: boolean
  /** When the session last went online (reconnecting is counted from the later of this and lostAt). */
  onlineSince: number
  /** Peers our user disconnected (held until Reconnect). */
  held: ReadonlySet<string>
  now?: number
}

export class RecentPeers {
  private readonly recent = new Map<string, Recent>()

  connected(info: PeerInfo): void {
    this.recent.delete(info.endpointId)
    this.recent.set(info.endpointId, { info })
    if (this.recent.size > MAX_RECENT) this.recent.delete(this.recent.keys().next().value!)
  }

  lost(endpointId: string, now = Date.now()): void {
    const r = this.recent.get(endpointId)
    if (r && r.lostAt === undefined) r.lostAt = now
  }

  /** Rows for remembered peers that `current` (the adapter's own rows) does not list. */
  rows(current: readonly PeerInfo[], ctx: RecentPeersContext): PeerInfo[] {
    const now = ctx.now ?? Date.now()
    const listed = new Set(current.map((p) => p.endpointId))
    const rows: PeerInfo[] = []
    for (const [endpointId, r] of this.recent) {
      if (listed.has(endpointId)) continue
      const base: PeerInfo = { ...r.info, connections: 0, direction: undefined, path: undefined, rttMs: undefined, nextAttemptAt: undefined }
      if (ctx.held.has(endpointId)) rows.push({ ...base, state: 'disconnected', lastError: 'disconnected by you: Reconnect Peer to sync again' })
      else if (!ctx.online) rows.push({ ...base, state: 'offline', lastError: 'offline (you)' })
      else if (now - Math.max(r.lostAt ?? now, ctx.onlineSince) < RECONNECT_GRACE_MS) rows.push({ ...base, state: 'reconnecting', lastError: undefined })
    }
    return rows
  }

  /** What a Reconnect needs: the peer's last direct address and name. */
  get(endpointId: string): PeerInfo | undefined {
    return this.recent.get(endpointId)?.info
  }
}
