// The narrow face of the transport that our own protocols (peer exchange, bulk catch-up) see, instead
// of the adapter class: send a frame of a protocol to a peer whose hello lists it, hear that protocol's
// frames, hear peers join and leave. js-libp2p hands its protocols a registrar the same way.
// The protocols' names, frame types and versions live in one place: src/core/protocols/registry.ts.
import type { EventEmitter } from 'node:events'
import type { Message, NetworkAdapter, PeerId } from '@automerge/automerge-repo/slim'
import type { IrohAdapterEvents, PeerInfo, Unsubscribe } from './types'

/**
 * One protocol spoken over extension frames. `feature` is what hellos list (a peer without it would
 * take the frames for malformed automerge messages); `frames` are its frame types, each starting with
 * `tonk/`. The wire carries no version: a change old peers cannot read takes a new feature name.
 */
export interface ExtensionProtocol {
  readonly feature: string
  readonly version: number
  readonly frames: Readonly<Record<string, string>>
}

export type ExtensionFrame = { type: string } & Record<string, unknown>

export interface ExtensionChannel {
  /** Largest frame a peer accepts from us (larger ones are not sent). */
  readonly maxFrameBytes: number
  /** Queues a frame for a connected peer whose hello lists the protocol; false if it was not queued. */
  send(endpointId: string, protocol: ExtensionProtocol, frame: ExtensionFrame): boolean
  /** Frames of the protocol's types from connected peers, as decoded (check every field). */
  onFrame(protocol: ExtensionProtocol, listener: (from: string, frame: Record<string, unknown>) => void): Unsubscribe
  /** A peer completed its handshake (after the Repo heard of it). */
  onPeerJoined(listener: (peer: PeerInfo) => void): Unsubscribe
  /** A peer's last connection ended. */
  onPeerLeft(listener: (endpointId: string) => void): Unsubscribe
  /** Every peers row (connected, in handshake, dialed): filter on `state`. */
  peers(): PeerInfo[]
  /** Bytes queued for a connected peer and not yet written; undefined when it is not connected. */
  queuedBytes(endpointId: string): number | undefined
  /**
   * Reads no further frame from a peer until `until` settles (keep it bounded): a protocol that works
   * through a frame in slices keeps the frames behind it, and the Repo's messages among them, waiting
   * in the stream (QUIC flow control pushes back on the sender) instead of overtaking it.
   */
  holdReading(endpointId: string, until: Promise<unknown>): void
  /**
   * The Repo's messages to a peer wait until `until` settles (keep it bounded), then go in order: a
   * protocol that sends the peer a burst first (bulk's push) keeps them from overtaking it.
   */
  holdRepoMessages(endpointId: string, until: Promise<unknown>): void
  /**
   * The Repo's own events, for a protocol that must act before the Repo does: listeners run in the
   * order added, so subscribe before the Repo exists (bulk does).
   */
  onPeerAnnounced(listener: (peerId: PeerId) => void): Unsubscribe
  onRepoMessage(listener: (message: Message) => void): Unsubscribe
}

/** The adapter's side of the channel: how the facade (iroh-adapter.ts) builds it. */
export function createExtensionChannel(adapter: {
  maxFrameBytes: number
  events: EventEmitter<IrohAdapterEvents>
  /** The NetworkAdapter itself: its 'peer-candidate' and 'message' events are the Repo's. */
  repoEvents: Pick<NetworkAdapter, 'on' | 'off'>
  send(endpointId: string, feature: string, frame: ExtensionFrame): boolean
  peers(): PeerInfo[]
  queuedBytes(endpointId: string): number | undefined
  holdReading(endpointId: string, until: Promise<unknown>): void
  holdRepoMessages(endpointId: string, until: Promise<unknown>): void
}): ExtensionChannel {
  const { events, repoEvents } = adapter
  const on = <E extends keyof IrohAdapterEvents>(event: E, listener: (...args: IrohAdapterEvents[E]) => void): Unsubscribe => {
    events.on(event, listener as never)
    return () => void events.off(event, listener as never)
  }
  return {
    maxFrameBytes: adapter.maxFrameBytes,
    send: (endpointId, protocol, frame) => adapter.send(endpointId, protocol.feature, frame),
    onFrame: (protocol, listener) => {
      const types = new Set(Object.values(protocol.frames))
      return on('extension-message', (e) => {
        if (types.has(e.message.type as string)) listener(e.endpointId, e.message)
      })
    },
    onPeerJoined: (listener) => on('peer-connected', listener),
    onPeerLeft: (listener) => on('peer-closed', (e) => listener(e.endpointId)),
    peers: () => adapter.peers(),
    queuedBytes: (endpointId) => adapter.queuedBytes(endpointId),
    holdReading: (endpointId, until) => adapter.holdReading(endpointId, until),
    holdRepoMessages: (endpointId, until) => adapter.holdRepoMessages(endpointId, until),
    onPeerAnnounced: (listener) => {
      const l = ({ peerId }: { peerId: PeerId }) => listener(peerId)
      repoEvents.on('peer-candidate', l)
      return () => void repoEvents.off('peer-candidate', l)
    },
    onRepoMessage: (listener) => {
      repoEvents.on('message', listener)
      return () => void repoEvents.off('message', listener)
    },
  }
}
