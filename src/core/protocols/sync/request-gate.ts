// Messages about documents we do not hold cost a DocHandle each, unless answered before the Repo sees
// them. automerge-repo's CollectionSynchronizer calls repo.find() for every request, sync, ephemeral
// and doc-unavailable message, so each unknown document id a peer names becomes a DocHandle and a
// DocSynchronizer, forwarded as a request to every other peer and never evicted: 10,000 requests for
// random ids (~1 MB) held ~0.5 GiB and stalled the target for over a minute.
//
// Where the check lives: in front of the Repo, in the network adapter's message path (a MessageGate),
// not in the share policy. The share policy is asked the same question for a request and for a sync
// that brings a document a peer just created (which must make a handle), it is async (a peer's
// messages would overtake each other), and even a refusal leaves an entry per id in the
// synchronizer's list of requested ids. The adapter asks us synchronously, per message, in order, and
// charges the peer's rate limiter what we say the message cost.
//
// What is "held": a handle in memory, a document in storage (the storage's in-memory index of names: one
// lookup, no disk access), or one the bulk sync is about to apply. A request for anything else is
// answered `doc-unavailable` by the adapter, without a handle, unless it is worth asking our other
// peers (the Repo's multi-hop: a third peer may have just created it): a few such requests per peer
// go through to the Repo, which makes a handle and asks around; those handles are deleted again once
// they end unavailable.
import { Automerge, isValidDocumentId, type DocumentId, type Message, type PeerId, type Repo } from '@automerge/automerge-repo/slim'
import type { MessageGate, MessageVerdict } from '../../net/types'
import { TokenBucket } from '../../net/rate-limit'

export interface RequestGateOptions {
  /** True for a document the bulk sync received but has not applied yet. */
  pending?: (documentId: DocumentId) => boolean
  /** Unknown-document requests one peer may have passed to the Repo (to ask other peers) at once. Default 32. */
  forwardBurst?: number
  /** …refilled at this rate. Default 2/s. */
  forwardPerSecond?: number
  /** Handles made by passed-on requests alive at once (over all peers). Default 256 (~17 KiB each). */
  maxForwarded?: number
  /** A passed-on request's handle that ended unavailable is deleted this long after it was made. Default 10 s. */
  evictAfterMs?: number
  /** How often handles of passed-on requests are checked. Default 5 s. */
  sweepMs?: number
  clock?: () => number
}

/** Rate-limit costs in ordinary messages: what the work behind each verdict is worth. */
export const REQUEST_COSTS = Object.freeze({
  /** A lookup, an index probe and a reply frame. */
  answered: 4,
  /** A DocHandle, a DocSynchronizer and a request to every other peer. */
  forwarded: 25,
})

export interface RequestGateStats {
  /** Requests for documents we do not hold, answered doc-unavailable without a handle. */
  answered: number
  /** …passed to the Repo to ask other peers. */
  forwarded: number
  /** Handles of passed-on requests deleted after ending unavailable. */
  evicted: number
  /** Ephemeral / doc-unavailable messages (or invalid ids) about documents we hold no handle for. */
  dropped: number
}

interface Storage {
  mayHoldPrefix(first: string): boolean
}

const DELIVER: MessageVerdict = { action: 'deliver', cost: 1 }
const DROP: MessageVerdict = { action: 'drop', cost: 1 }
const ANSWER: MessageVerdict = { action: 'answer-unavailable', cost: REQUEST_COSTS.answered }
const FORWARD: MessageVerdict = { action: 'deliver', cost: REQUEST_COSTS.forwarded }

export class RequestGate {
  readonly stats: RequestGateStats = { answered: 0, forwarded: 0, evicted: 0, dropped: 0 }
  private readonly options: Required<Omit<RequestGateOptions, 'pending'>>
  private readonly pending: (documentId: DocumentId) => boolean
  /** Per requesting peer: how many more unknown-document requests may reach the Repo. */
  private readonly budgets = new Map<PeerId, TokenBucket>()
  /** Documents whose handle a passed-on request made, and when. */
  private readonly forwarded = new Map<DocumentId, number>()
  private sweeper: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly repo: Repo,
    private readonly storage: Storage,
    options: RequestGateOptions = {},
  ) {
    this.pending = options.pending ?? (() => false)
    this.options = {
      forwardBurst: options.forwardBurst ?? 32,
      forwardPerSecond: options.forwardPerSecond ?? 2,
      maxForwarded: options.maxForwarded ?? 256,
      evictAfterMs: options.evictAfterMs ?? 10_000,
      sweepMs: options.sweepMs ?? 5000,
      clock: options.clock ?? (() => performance.now()),
    }
  }

  /** The adapter's MessageGate. */
  readonly check: MessageGate = (message: Message) => {
    const id = message.documentId
    if (id === undefined || this.stopped) return DELIVER
    if (message.type !== 'request' && message.type !== 'sync' && message.type !== 'ephemeral' && message.type !== 'doc-unavailable') {
      return DELIVER
    }
    // hasOwn: an id is the peer's string ("constructor" would find Object.prototype's).
    if (Object.hasOwn(this.repo.handles, id) || this.pending(id)) return DELIVER
    if (message.type === 'ephemeral' || message.type === 'doc-unavailable' || !isValidDocumentId(id)) {
      // About a document we hold no handle for: nothing to relay or update (the Repo would make one to find out).
      this.stats.dropped++
      return DROP
    }
    if (this.storage.mayHoldPrefix(id)) return DELIVER // stored, not loaded: the Repo loads it
    // A sync that carries heads brings a document (a peer just created it); one without asks, like a request.
    if (message.type === 'sync' && carriesHeads(message)) return DELIVER
    if (this.mayForward(message.senderId, id)) {
      this.stats.forwarded++
      return FORWARD
    }
    this.stats.answered++
    return ANSWER
  }

  /** Stops the sweeps; later messages all go to the Repo (it is closing). */
  stop(): void {
    this.stopped = true
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private mayForward(sender: PeerId, id: DocumentId): boolean {
    if (this.forwarded.size >= this.options.maxForwarded) return false
    // With nobody else to ask, the Repo would answer doc-unavailable too, after making a handle.
    if (!this.repo.peers.some((p) => p !== sender)) return false
    const now = this.options.clock()
    let budget = this.budgets.get(sender)
    if (!budget) {
      budget = new TokenBucket(this.options.forwardPerSecond, this.options.forwardBurst, now)
      this.budgets.set(sender, budget)
    }
    if (!budget.tryTake(1, now)) return false
    this.forwarded.set(id, now)
    this.sweeper ??= setInterval(() => this.sweep(), this.options.sweepMs)
    this.sweeper.unref?.()
    return true
  }

  /** Deletes handles of passed-on requests that ended unavailable; forgets those that became documents. */
  sweep(): void {
    const now = this.options.clock()
    for (const [id, since] of this.forwarded) {
      const handle = this.repo.handles[id]
      if (!handle || handle.isReady() || handle.isDeleted()) {
        this.forwarded.delete(id)
      } else if (handle.isUnavailable() && now - since >= this.options.evictAfterMs) {
        // Nobody had it. A later sync that brings it makes a new handle.
        this.forwarded.delete(id)
        this.repo.delete(id)
        this.stats.evicted++
      }
    }
    const peers = new Set(this.repo.peers)
    for (const peer of this.budgets.keys()) if (!peers.has(peer)) this.budgets.delete(peer)
    if (this.forwarded.size === 0 && this.sweeper) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }
}

function carriesHeads(message: Message): boolean {
  const data = (message as { data?: unknown }).data
  if (!(data instanceof Uint8Array)) return false
  try {
    return Automerge.decodeSyncMessage(data).heads.length > 0
  } catch {
    return false // not a sync message: the Repo could do nothing with it either
  }
}

/** Network adapters that take a MessageGate (the iroh adapter). */
export function takesMessageGate(adapter: unknown): adapter is { setMessageGate(gate: MessageGate | undefined): void } {
  return typeof (adapter as { setMessageGate?: unknown } | null)?.setMessageGate === 'function'
}
