// Peers this data dir has been connected to, persisted (`known-peers.json`) and redialed at start, so a
// restarted peer finds its peers again even when they only ever dialed it. Bounded: the most recent
// MAX_KNOWN peers seen within MAX_AGE_MS.
import { readFile } from 'node:fs/promises'
import { EndpointAddr, EndpointId, EndpointTicket } from '../net/iroh'
import { PRIVATE_FILE_MODE } from './data-dir'
import { writeJsonReplacing } from '../store/durable-fs'

const MAX_KNOWN = 64
const MAX_AGE_MS = 14 * 24 * 3600 * 1000

export interface KnownPeer {
  endpointId: string
  addresses: string[]
  name?: string
  lastSeen: number
}

export async function readKnownPeers(path: string, now = Date.now()): Promise<KnownPeer[]> {
  try {
    const list = JSON.parse(await readFile(path, 'utf8')) as KnownPeer[]
    if (!Array.isArray(list)) return []
    return list.filter(
      (p) => typeof p?.endpointId === 'string' && Array.isArray(p.addresses) && p.addresses.length > 0 && now - p.lastSeen < MAX_AGE_MS,
    )
  } catch {
    return [] // missing or torn: known peers are a hint, never a reason to fail a start
  }
}

export function rememberPeer(list: KnownPeer[], peer: KnownPeer): KnownPeer[] {
  const rest = list.filter((p) => p.endpointId !== peer.endpointId)
  return [peer, ...rest].sort((a, b) => b.lastSeen - a.lastSeen).slice(0, MAX_KNOWN)
}

export async function writeKnownPeers(path: string, list: KnownPeer[]): Promise<void> {
  await writeJsonReplacing(path, list, PRIVATE_FILE_MODE)
}

/** A dialable ticket for a known peer (its id and the direct addresses it was last seen at). */
export function ticketOf(peer: KnownPeer): string {
  return EndpointTicket.fromAddr(new EndpointAddr(EndpointId.fromString(peer.endpointId), null, peer.addresses)).toString()
}
