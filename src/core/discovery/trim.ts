// Which links a peer with too many closes. Outbound, discovery fills only up to maxLinks; inbound it
// cannot say no at the door (a newcomer needs a first link to hear of others), so the peers everyone
// heard of first ended with 14-23 links in a 50-peer mesh and re-synced every change with all of them.
// Past a high-water mark we close links their dialer made on discovery's word (its hello says so; a
// person's dial is never closed), once they are old enough for peer exchange to have given that peer
// others, newest first: a link that has lasted stays, so the mesh settles instead of churning.

export interface TrimCandidate {
  endpointId: string
  connectedAt: number
}

/** Up to `over` endpoint ids to close: candidates connected at least `graceMs` ago, newest first. */
export function linksToTrim(candidates: readonly TrimCandidate[], over: number, now: number, graceMs: number): string[] {
  if (over <= 0) return []
  return candidates
    .filter((c) => now - c.connectedAt >= graceMs)
    .sort((a, b) => b.connectedAt - a.connectedAt)
    .slice(0, over)
    .map((c) => c.endpointId)
}
