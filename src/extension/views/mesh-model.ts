// The mesh as a graph (pure, unit-tested): this session, its peers (our links, with path, RTT and any
// fault), and the peers they say they are linked to (their link reports, drawn apart). Bounded: at
// most MAX_NODES nodes (ours first), so a hostile report cannot make the page draw thousands.
import type { PeerSnapshot } from '../../core/session/session'
import type { MeshEdge, MeshGraph, MeshNode } from '../../protocol/mesh'

export const MAX_NODES = 200

/** The peers the graph needs: a snapshot's rows, or Session.peerList() (no per-document states). */
type MeshPeer = Omit<PeerSnapshot, 'docs'>

export function meshGraph(snap: { endpointId?: string; peerName: string; bundleId: string; peers: readonly MeshPeer[] }): MeshGraph {
  const self = snap.endpointId ?? ''
  const nodes = new Map<string, MeshNode>([[self, { id: self, name: snap.peerName, self: true, direct: true }]])
  const edges: MeshEdge[] = []
  const edgeKeys = new Set<string>()
  const key = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`)
  for (const p of snap.peers) {
    if (nodes.size >= MAX_NODES) break
    nodes.set(p.endpointId, {
      id: p.endpointId,
      ...(p.name !== undefined && { name: p.name }),
      direct: true,
      state: p.state,
      foundBy: p.source,
      ...(p.build && p.build !== snap.bundleId && { otherBuild: true }),
    })
    if (p.state !== 'connected') continue
    edgeKeys.add(key(self, p.endpointId))
    edges.push({
      from: self,
      to: p.endpointId,
      path: p.path?.kind ?? 'unknown',
      ...((p.rttMs ?? p.path?.rttMs) !== undefined && { rttMs: Math.round((p.rttMs ?? p.path!.rttMs) * 10) / 10 }),
      ...(p.syncRttMs !== undefined && { syncRttMs: p.syncRttMs }),
      ...(p.fault && { fault: p.fault.label }),
      reported: false,
    })
  }
  for (const p of snap.peers) {
    if (p.state !== 'connected') continue
    for (const l of p.links ?? []) {
      if (!nodes.has(l.id)) {
        if (nodes.size >= MAX_NODES) continue
        nodes.set(l.id, { id: l.id, direct: false })
      }
      const k = key(p.endpointId, l.id)
      if (edgeKeys.has(k)) {
        // Our own link to it, or the other side's report of the same link: a fault either side reports shows.
        const seen = edges.find((e) => e.reported && key(e.from, e.to) === k)
        if (seen && l.fault && !seen.fault) seen.fault = l.fault
        continue
      }
      edgeKeys.add(k)
      edges.push({ from: p.endpointId, to: l.id, path: l.path, ...(l.rttMs !== undefined && { rttMs: l.rttMs }), ...(l.fault && { fault: l.fault }), reported: true })
    }
  }
  return { nodes: [...nodes.values()], edges }
}
