// automerge-repo peer ids are self-chosen strings, and the Repo's NetworkSubsystem keys peers by id
// across all its adapters: a second adapter (the preview page, the bridge to a sync server) that
// announces an id an iroh peer holds gets its messages accepted as that peer's, and when it leaves,
// the Repo forgets the iroh peer too. So the session keeps one table of who holds which id, and each
// adapter reaches the Repo through a guard that drops a colliding candidate, its departure and every
// message it sends under an id it does not hold. First come, first served; our own id is held too.
import { NetworkAdapter, type Message, type NetworkAdapterInterface, type PeerId, type PeerMetadata } from '@automerge/automerge-repo/slim'
import { noopLogger, type Logger } from '../../shared/log'

export class PeerIdClaims {
  private readonly owners = new Map<string, string>()

  constructor(private readonly logger: Logger = noopLogger) {}

  /** The adapter holding `peerId` ('self' for our own Repo), if any. */
  ownerOf(peerId: string): string | undefined {
    return this.owners.get(peerId)
  }

  claim(peerId: string, owner: string): boolean {
    const current = this.owners.get(peerId)
    if (current !== undefined && current !== owner) return false
    this.owners.set(peerId, owner)
    return true
  }

  release(peerId: string, owner: string): void {
    if (this.owners.get(peerId) === owner) this.owners.delete(peerId)
  }

  /** `adapter` as the Repo should see it: announcing, losing and speaking only for ids it holds. */
  guard(adapter: NetworkAdapterInterface, owner: string): NetworkAdapterInterface {
    return new ClaimGuard(adapter, owner, this, this.logger)
  }
}

class ClaimGuard extends NetworkAdapter {
  private readonly held = new Set<string>()
  private readonly warned = new Set<string>()

  constructor(
    readonly inner: NetworkAdapterInterface,
    private readonly owner: string,
    private readonly claims: PeerIdClaims,
    private readonly logger: Logger,
  ) {
    super()
    inner.on('peer-candidate', (payload) => {
      if (!this.claims.claim(payload.peerId, this.owner)) {
        this.refuse(payload.peerId)
        return
      }
      this.held.add(payload.peerId)
      this.emit('peer-candidate', payload)
    })
    inner.on('peer-disconnected', (payload) => {
      if (!this.held.delete(payload.peerId)) return
      this.claims.release(payload.peerId, this.owner)
      this.emit('peer-disconnected', payload)
    })
    inner.on('message', (message) => {
      if (this.held.has(message.senderId)) this.emit('message', message)
      // Presence forwarded from further away keeps its origin's id (iroh-adapter.ts isForwardedEphemeral):
      // fine unless that id is one a direct peer or this session holds (a spoof of a neighbour).
      else if (message.type === 'ephemeral' && this.claims.ownerOf(message.senderId) === undefined) this.emit('message', message)
      else this.refuse(message.senderId)
    })
    inner.on('close', () => {
      for (const peerId of this.held) this.claims.release(peerId, this.owner)
      this.held.clear()
      this.emit('close')
    })
  }

  private refuse(peerId: string): void {
    if (this.warned.has(peerId)) return
    if (this.warned.size < 100) this.warned.add(peerId)
    const holder = this.claims.ownerOf(peerId)
    this.logger.warn(
      `net: ${this.owner} announced automerge peer id ${String(peerId).slice(0, 40)}, which ${holder === 'self' ? 'is this session’s own' : holder ? `${holder} holds` : 'it does not hold'}: ignored`,
    )
  }

  override isReady(): boolean {
    return this.inner.isReady()
  }
  override whenReady(): Promise<void> {
    return this.inner.whenReady()
  }
  override connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata
    this.claims.claim(peerId, 'self')
    this.inner.connect(peerId, peerMetadata)
  }
  override send(message: Message): void {
    // The Repo routes by the owner it was told about: a target we do not hold never came from us.
    if (this.held.has(message.targetId)) this.inner.send(message)
  }
  /** The inner adapter's message gate (protocols/sync/request-gate.ts) is set through the guard the Repo holds. */
  setMessageGate(gate: unknown): void {
    ;(this.inner as { setMessageGate?: (gate: unknown) => void }).setMessageGate?.(gate)
  }

  override disconnect(): void {
    this.inner.disconnect()
    // Taken out of the Repo: whatever the inner adapter did not say goodbye for leaves now.
    for (const peerId of [...this.held]) {
      this.held.delete(peerId)
      this.claims.release(peerId, this.owner)
      this.emit('peer-disconnected', { peerId: peerId as PeerId })
    }
  }
}
