// Test helper: two automerge-repo network adapters wired to each other in memory, so two Repos in one
// process sync without sockets (MessageChannelNetworkAdapter is not installed). Delivery is async and
// in order, like a real transport.
import { NetworkAdapter, type Message, type PeerId, type PeerMetadata } from '@automerge/automerge-repo/slim'

export class PairAdapter extends NetworkAdapter {
  other?: PairAdapter
  #connected = false
  #closed = false
  #ready: Promise<void>
  #markReady!: () => void

  constructor() {
    super()
    this.#ready = new Promise((resolve) => (this.#markReady = resolve))
  }

  isReady(): boolean {
    return this.#connected
  }

  whenReady(): Promise<void> {
    return this.#ready
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata
    this.#connected = true
    this.#markReady()
    const other = this.other
    if (other && other.#connected && !other.#closed) {
      // Both sides are up: introduce them to each other.
      setImmediate(() => {
        other.emit('peer-candidate', { peerId, peerMetadata: peerMetadata ?? {} })
        this.emit('peer-candidate', { peerId: other.peerId!, peerMetadata: other.peerMetadata ?? {} })
      })
    }
  }

  send(message: Message): void {
    const other = this.other
    if (this.#closed || !other || other.#closed) return
    setImmediate(() => {
      if (!other.#closed) other.emit('message', message)
    })
  }

  disconnect(): void {
    if (this.#closed) return
    this.#closed = true
    const other = this.other
    if (other && !other.#closed && this.peerId) {
      const peerId = this.peerId
      setImmediate(() => other.emit('peer-disconnected', { peerId }))
    }
    this.emit('close')
  }
}

/** Two adapters connected to each other: give one to each Repo. */
export function createAdapterPair(): [PairAdapter, PairAdapter] {
  const a = new PairAdapter()
  const b = new PairAdapter()
  a.other = b
  b.other = a
  return [a, b]
}
