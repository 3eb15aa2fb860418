// `tonk-p2p link PEER --drop | --delay MS [--jitter MS] | --loss PCT | --clear`: faults per link
// (src/core/net/link-fault.ts) on the running peer of a data dir, over the control socket. PEER is an
// endpoint id, a unique prefix of one, or a peer's name; anything else is E_LINK_PEER.
import type { LinkFault } from '../net/link-fault'
import type { PeerInfo } from '../net/types'
import { ControlError, type ControlHandler } from './control'

/** The one peer PEER names among `peers`; throws ControlError E_LINK_PEER when none or several. */
export function resolvePeer(peers: PeerInfo[], text: string): PeerInfo {
  const q = String(text ?? '').trim()
  if (!q) throw new ControlError('E_LINK_PEER', 'name a peer: an endpoint id, a unique prefix of one, or a peer name')
  const exact = peers.find((p) => p.endpointId === q)
  if (exact) return exact
  const byPrefix = peers.filter((p) => p.endpointId.startsWith(q.toLowerCase()))
  const byName = peers.filter((p) => p.name === q)
  const found = [...new Set([...byPrefix, ...byName])]
  if (found.length === 1) return found[0]!
  const shown = q.slice(0, 64)
  if (found.length === 0) throw new ControlError('E_LINK_PEER', `no peer matches "${shown}" (see tonk-p2p peers)`)
  throw new ControlError('E_LINK_PEER', `"${shown}" matches ${found.length} peers: ${found.map((p) => `${p.name ?? '?'} ${p.endpointId.slice(0, 12)}`).join(', ')}; give more of the endpoint id`)
}

export function linkHandlers(
  peers: () => PeerInfo[],
  setFault: (endpointId: string, fault: LinkFault | undefined) => void,
): Record<string, ControlHandler> {
  return {
    link: async ({ peer, fault }: { peer: string; fault?: LinkFault | null }) => {
      const target = resolvePeer(peers(), peer)
      try {
        setFault(target.endpointId, fault ?? undefined)
      } catch (err) {
        throw new ControlError((err as { code?: string }).code ?? 'E_LINK_FAULT', (err as Error).message)
      }
      const row = peers().find((p) => p.endpointId === target.endpointId)
      return { endpointId: target.endpointId, name: target.name, fault: row?.fault ?? null }
    },
  }
}
