// Peer exchange: connected peers of a bundle tell each other where their other peers are, so A–B and
// B–C lead to A–C directly. Design: one small extra frame on the connection that already exists
// (`{type: 'tonk/pex', peers: [{id, addrs}]}`, CBOR like every frame), sent only to peers whose hello
// lists the 'pex' feature. Why not automerge-repo ephemeral messages: those belong to a document (the
// root would have to be loaded first), are relayed onwards by the Repo (also to a WebSocket sync server
// we bridge to) and show up in the sync trace as document traffic. Why not only a hello field: peers
// connected later still need an update frame, so the frame alone is the simpler whole.
// Every peer that connects gets our other connected peers; every other peer gets the newcomer. Only
// peers we are connected to (behind a completed handshake) are passed on, never mere candidates, and
// only at addresses we saw them at or they announced themselves (not what another peer told us). What
// we receive is one peer's word: at most 64 entries a frame here, then the manager's per-sender limits
// (a rate, a cap on peers we never reached, all dropped when the sender leaves) and the adapter's
// discovered-dial limits (docs/discovery.md, "Limits").
import type { ExtensionChannel } from '../../net/extension-channel'
import type { PeerInfo } from '../../net/types'
import { isSocketAddress } from '../../discovery/manager'
import type { DiscoveryContext, DiscoverySource } from '../../discovery/types'
import { HEX64 } from '../../util/text'
import { PEX } from '../registry'

export const PEX_FEATURE = PEX.feature
export const PEX_TYPE = PEX.frames.peers
/** Entries read from one frame (the rest is ignored) and sent per frame. */
const MAX_PEERS_PER_FRAME = 64
const MAX_ADDRS_PER_PEER = 8

export interface PexEntry {
  id: string
  addrs: string[]
}

/** The entries of a received pex frame that look sane; anything else is dropped. */
export function readPexFrame(message: Record<string, unknown>): PexEntry[] {
  if (message.type !== PEX_TYPE || !Array.isArray(message.peers)) return []
  const out: PexEntry[] = []
  for (const p of message.peers.slice(0, MAX_PEERS_PER_FRAME)) {
    if (typeof p !== 'object' || p === null) continue
    const { id, addrs } = p as Record<string, unknown>
    if (typeof id !== 'string' || !HEX64.test(id) || !Array.isArray(addrs)) continue
    const valid = addrs.filter(isSocketAddress).slice(0, MAX_ADDRS_PER_PEER)
    if (valid.length > 0) out.push({ id, addrs: valid })
  }
  return out
}

export class PeerExchange implements DiscoverySource {
  readonly name = 'exchange' as const
  private context?: DiscoveryContext
  private readonly unsubscribe: (() => void)[] = []

  constructor(
    private readonly channel: ExtensionChannel,
    /** Addresses a discovery source reported for a peer (added to the one we see it at). */
    private readonly knownAddresses: (endpointId: string) => string[],
  ) {}

  start(context: DiscoveryContext): void {
    this.context = context
    this.unsubscribe.push(
      this.channel.onPeerJoined((p) => this.onConnected(p)),
      this.channel.onFrame(PEX, (from, frame) => this.onMessage(from, frame)),
    )
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off()
    this.context = undefined
  }

  private entryFor(p: PeerInfo): PexEntry | undefined {
    const addrs = [...new Set([...(p.path?.kind === 'direct' ? [p.path.remoteAddr] : []), ...this.knownAddresses(p.endpointId)])]
      .filter(isSocketAddress)
      .slice(0, MAX_ADDRS_PER_PEER)
    return addrs.length ? { id: p.endpointId, addrs } : undefined
  }

  private onConnected(newcomer: PeerInfo): void {
    if (!this.context) return
    const others = this.channel.peers().filter((p) => p.state === 'connected' && p.endpointId !== newcomer.endpointId)
    const theirEntries = others.map((p) => this.entryFor(p)).filter((e): e is PexEntry => !!e)
    if (theirEntries.length) this.send(newcomer.endpointId, theirEntries)
    const newEntry = this.entryFor(newcomer)
    if (newEntry) for (const p of others) this.send(p.endpointId, [newEntry])
  }

  private send(endpointId: string, peers: PexEntry[]): void {
    for (let i = 0; i < peers.length; i += MAX_PEERS_PER_FRAME) {
      const sent = this.channel.send(endpointId, PEX, { type: PEX_TYPE, peers: peers.slice(i, i + MAX_PEERS_PER_FRAME) })
      if (!sent) return
    }
    this.context?.logger.debug(`pex: told ${endpointId.slice(0, 10)} about ${peers.length} peer(s)`)
  }

  private onMessage(from: string, message: Record<string, unknown>): void {
    const context = this.context
    if (!context || message.type !== PEX_TYPE) return
    for (const entry of readPexFrame(message)) {
      context.offer({ endpointId: entry.id, addresses: entry.addrs, source: 'exchange', via: from })
    }
    context.logger.debug(`pex: ${from.slice(0, 10)} told us about peers`)
  }
}
