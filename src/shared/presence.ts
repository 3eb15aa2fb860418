// Presence: who else has this app open, and what each one shares for the moment (a selected place, a
// cursor). Built on automerge-repo's Presence over the root directory document, so it rides the same
// path as the data: page → host session → peers over iroh → their sessions and pages. Nothing is
// stored. The preview gives it to apps as `tonk.presence`; sessions (the extension's, `tonk-p2p serve`)
// take part too, so a headless peer is "here" and the Peers view can show what each peer shares.
// What peers send is their claim (any member of the app can say any name): show it, never trust it.
import { Presence, type DocHandle, type PeerState } from '@automerge/automerge-repo/slim'

export interface PresencePeer {
  /** The participant's automerge-repo peer id: one per open page or session (a peer with two previews open has three). */
  pageId: string
  /** The endpoint id its host session claims (`tonk.peerId` there). */
  peerId?: string
  name?: string
  /** An app's page, or a host session (the extension's or a `tonk-p2p serve`). */
  kind?: 'page' | 'session'
  /** What that page shares: its own channels, as it set them. */
  state: Record<string, unknown>
  /** ms timestamps (this page's clock) of its last change and of the last message at all. */
  lastActiveAt: number
  lastSeenAt: number
}

export interface TonkPresence {
  /** Shares one part of this page's state, e.g. `set('place', 'porto')`; `undefined` clears it. */
  set(channel: string, value: unknown): void
  /** This page's shared state. */
  mine(): Record<string, unknown>
  /** Everyone else here now (other endpoints: not this page's own session), most recently active first. */
  peers(): PresencePeer[]
  /** `cb(peers)` now and whenever someone arrives, changes or leaves; returns an unsubscribe. */
  listen(cb: (peers: PresencePeer[]) => void): () => void
}

/**
 * A heartbeat only keeps a quiet participant listed: arrivals, changes and goodbyes are sent when they
 * happen. Every peer passes each heartbeat on to all its links, so in a mesh of N peers each one
 * handles about N × links heartbeats per period: 10 s (not 5) halves that; a peer that vanished
 * without a goodbye (killed, unplugged) is dropped after three missed ones.
 */
const HEARTBEAT_MS = 10_000
const PEER_TTL_MS = 3 * HEARTBEAT_MS
/** Least time between two re-broadcasts of our whole state for participants we did not know (below). */
const ANNOUNCE_GAP_MS = 2_000
/** Presence is for small things: a larger value is refused here rather than sent to every peer. */
const MAX_VALUE_CHARS = 4_096
const RESERVED = new Set(['peerId', 'name', 'kind'])

export interface PresenceSelf {
  /** The endpoint id of the session this participant belongs to. */
  peerId: string
  name?: string
  /** 'page' for an app's page, 'session' for a host session (extension or CLI). */
  kind: 'page' | 'session'
}

export interface RunningPresence extends TonkPresence {
  /** Says goodbye (peers drop this participant at once) and stops listening. */
  stop(): void
}

export function startPresence(root: DocHandle<unknown>, self: PresenceSelf, onChange: (peers: PresencePeer[]) => void = () => {}): RunningPresence {
  const presence = new Presence<Record<string, unknown>>({ handle: root })
  const stopThrottle = throttleAnnounce(presence, ANNOUNCE_GAP_MS)
  presence.start({ initialState: { peerId: self.peerId, kind: self.kind, ...(self.name ? { name: self.name } : {}) }, heartbeatMs: HEARTBEAT_MS, peerTtlMs: PEER_TTL_MS })

  const listeners = new Set<(peers: PresencePeer[]) => void>()
  const peers = (): PresencePeer[] =>
    Object.values(presence.getPeerStates().value as Record<string, PeerState<Record<string, unknown>>>)
      .map((p) => toPeer(p))
      // The same endpoint is the same person: a page does not list its own session, nor the reverse.
      .filter((p) => p.peerId !== self.peerId)
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt)
  const changed = () => {
    const now = peers()
    onChange(now)
    for (const cb of listeners) cb(now)
  }
  for (const event of ['update', 'snapshot', 'goodbye', 'pruning'] as const) presence.on(event, changed)

  return Object.freeze({
    stop: () => {
      stopThrottle()
      presence.stop()
    },
    set(channel: string, value: unknown) {
      if (typeof channel !== 'string' || RESERVED.has(channel)) throw new TypeError(`presence channel "${String(channel)}" is reserved or not a string`)
      const text = JSON.stringify(value ?? null)
      if (text.length > MAX_VALUE_CHARS) throw new RangeError(`presence values are small (≤ ${MAX_VALUE_CHARS} characters as JSON); keep larger things in documents`)
      presence.broadcast(channel, value === undefined ? undefined : JSON.parse(text))
    },
    mine: () => {
      const { peerId: _p, name: _n, kind: _k, ...rest } = presence.getLocalState()
      return rest
    },
    peers,
    listen(cb: (peers: PresencePeer[]) => void) {
      listeners.add(cb)
      cb(peers())
      return () => void listeners.delete(cb)
    },
  })
}

/**
 * automerge-repo's Presence re-broadcasts our whole state 0.5 s after *each* message from a participant
 * it does not know yet, and every peer passes that broadcast on to all of its peers. When 50 peers
 * start together each one saw 49 strangers and scheduled 49 broadcasts, every one flooding the mesh:
 * idle peers used 1.6 of 2 cores for minutes (bench row sparse-50). Here one is pending at a time and
 * they are at least `gapMs` apart; the last one still comes, so a newcomer learns our state ≤ `gapMs`
 * later. (`announce` is private in its types: checked by test/unit/presence.test.ts.)
 */
export function throttleAnnounce(presence: Presence<Record<string, unknown>>, gapMs: number): () => void {
  const target = presence as unknown as { announce?: () => void }
  const announce = target.announce?.bind(presence)
  if (typeof announce !== 'function') return () => {}
  let last = -Infinity
  let timer: ReturnType<typeof setTimeout> | undefined
  target.announce = () => {
    if (timer) return
    timer = setTimeout(() => {
      timer = undefined
      last = Date.now()
      announce()
    }, Math.max(0, last + gapMs - Date.now()))
  }
  return () => clearTimeout(timer)
}

function toPeer(p: PeerState<Record<string, unknown>>): PresencePeer {
  const { peerId, name, kind, ...state } = (p.value ?? {}) as Record<string, unknown>
  return {
    pageId: p.peerId,
    ...((kind === 'page' || kind === 'session') && { kind }),
    ...(typeof peerId === 'string' && { peerId: peerId.slice(0, 64) }),
    ...(typeof name === 'string' && { name: name.slice(0, 64) }),
    state,
    lastActiveAt: p.lastActiveAt,
    lastSeenAt: p.lastSeenAt,
  }
}
