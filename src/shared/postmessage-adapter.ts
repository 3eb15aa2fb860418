// A stock automerge-repo NetworkAdapter over any postMessage-like channel: one side in the preview
// webview's page, the other added to the session's Repo on the extension host. Browser-safe (no node:
// imports) because both bundles include it: webview-ui/preview/main.ts and, through the engine,
// src/extension/webviews/preview.ts. Modelled on automerge-repo's MessageChannelNetworkAdapter
// (arrive/welcome), but point to point, CBOR-encoded, and strict about what it accepts.
import { cbor, NetworkAdapter, type Message, type PeerId, type PeerMetadata } from '@automerge/automerge-repo/slim'
import type { AdapterFrame, WirePeerMetadata } from '../protocol/preview'

/** Where frames go and come from: webview.postMessage / onDidReceiveMessage, or window messages. */
export interface FrameChannel {
  post(frame: AdapterFrame): void
  /** Calls `onFrame` for every frame from the other side (already validated); returns an unsubscribe. */
  subscribe(onFrame: (frame: AdapterFrame) => void): () => void
}

export interface PostMessageAdapterOptions {
  /** Told why a frame was dropped (undecodable, not addressed to us, from a stranger). */
  onDrop?: (reason: string) => void
}

/** Largest CBOR message relayed; bigger ones are dropped (the iroh side has its own frame limit). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

export class PostMessageNetworkAdapter extends NetworkAdapter {
  readonly #channel: FrameChannel
  readonly #onDrop: (reason: string) => void
  #remote?: PeerId
  #unsubscribe?: () => void
  #ready = false
  #resolveReady!: () => void
  readonly #readyPromise = new Promise<void>((resolve) => (this.#resolveReady = resolve))
  #resolvePeer!: (peerId: PeerId) => void
  #peerPromise = new Promise<PeerId>((resolve) => (this.#resolvePeer = resolve))

  constructor(channel: FrameChannel, options: PostMessageAdapterOptions = {}) {
    super()
    this.#channel = channel
    this.#onDrop = options.onDrop ?? (() => {})
  }

  /** The peer on the other side, if it has arrived. */
  get remotePeerId(): PeerId | undefined {
    return this.#remote
  }

  /** Resolves with the other side's peer id once it is connected (at once if it already is). */
  whenPeer(): Promise<PeerId> {
    return this.#peerPromise
  }

  isReady(): boolean {
    return this.#ready
  }

  whenReady(): Promise<void> {
    return this.#readyPromise
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata
    this.#unsubscribe?.()
    this.#unsubscribe = this.#channel.subscribe((frame) => this.#receive(frame))
    this.#channel.post({ kind: 'arrive', peerId, peerMetadata: wireMetadata(peerMetadata) })
    // Ready with zero peers: a find() must not wait for a side that may never come (the Repo asks
    // peers that arrive later on its own).
    this.#ready = true
    this.#resolveReady()
  }

  send(message: Message): void {
    if (!this.#unsubscribe || !this.#remote || message.targetId !== this.#remote) return
    // A plain Uint8Array copy: cbor-x hands out a Node Buffer (a view into its reused pool) on the host,
    // and VS Code's webview postMessage only transfers views whose constructor is a typed array by name
    // (a Buffer arrives in the page as a plain object).
    this.#channel.post({ kind: 'message', bytes: new Uint8Array(cbor.encode(message)) })
  }

  disconnect(): void {
    if (!this.#unsubscribe) return
    if (this.peerId) this.#channel.post({ kind: 'leave', peerId: this.peerId })
    this.#dropRemote()
    this.#unsubscribe()
    this.#unsubscribe = undefined
    this.emit('close')
  }

  #receive(frame: AdapterFrame): void {
    if (!this.peerId) return
    switch (frame.kind) {
      case 'arrive':
        // The other side (re)started, e.g. a reloaded webview with a new peer id: answer and switch.
        this.#channel.post({ kind: 'welcome', peerId: this.peerId, peerMetadata: wireMetadata(this.peerMetadata) })
        this.#accept(frame.peerId as PeerId, frame.peerMetadata)
        return
      case 'welcome':
        this.#accept(frame.peerId as PeerId, frame.peerMetadata)
        return
      case 'leave':
        if (frame.peerId === this.#remote) this.#dropRemote()
        return
      case 'message':
        this.#receiveMessage(frame.bytes)
        return
    }
  }

  #accept(peerId: PeerId, metadata: WirePeerMetadata): void {
    if (peerId === this.#remote) return
    if (peerId === this.peerId) return this.#onDrop('a frame claims our own peer id')
    this.#dropRemote()
    this.#remote = peerId
    this.emit('peer-candidate', { peerId, peerMetadata: metadata as PeerMetadata })
    this.#resolvePeer(peerId)
  }

  #dropRemote(): void {
    const peerId = this.#remote
    if (!peerId) return
    this.#remote = undefined
    this.#peerPromise = new Promise<PeerId>((resolve) => (this.#resolvePeer = resolve))
    this.emit('peer-disconnected', { peerId })
  }

  #receiveMessage(bytes: Uint8Array): void {
    if (!this.#remote) return this.#onDrop('a message before the peer arrived')
    if (bytes.byteLength > MAX_MESSAGE_BYTES) return this.#onDrop(`a message of ${bytes.byteLength} bytes`)
    let message: unknown
    try {
      message = cbor.decode(bytes)
    } catch (error) {
      return this.#onDrop(`an undecodable message (${String(error)})`)
    }
    if (!isAddressed(message)) return this.#onDrop('a message without type, senderId and targetId')
    // Presence from other peers arrives through the host with its origin's senderId (automerge-repo
    // forwards ephemeral messages unchanged); everything else must be the host's own.
    const forwarded = message.type === 'ephemeral' && message.senderId !== this.peerId && message.senderId.length <= 128
    if ((message.senderId !== this.#remote && !forwarded) || message.targetId !== this.peerId) {
      return this.#onDrop(`a message from ${message.senderId} to ${message.targetId}`)
    }
    this.emit('message', message as Message)
  }
}

function wireMetadata(metadata: PeerMetadata | undefined): WirePeerMetadata {
  const wire: WirePeerMetadata = {}
  if (typeof metadata?.storageId === 'string') wire.storageId = metadata.storageId
  if (typeof metadata?.isEphemeral === 'boolean') wire.isEphemeral = metadata.isEphemeral
  return wire
}

function isAddressed(m: unknown): m is { type: string; senderId: string; targetId: string } {
  if (typeof m !== 'object' || m === null) return false
  const r = m as Record<string, unknown>
  return typeof r.type === 'string' && typeof r.senderId === 'string' && typeof r.targetId === 'string'
}
