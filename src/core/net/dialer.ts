// Who we keep dialing, and when: the dial targets, their jittered exponential back-off, the limits on
// dials discovery asks for (discovered-dials.ts) and the peers a person disconnected. No sockets here:
// the adapter hands in how to connect and what a connection means (DialerHooks), and time and chance
// come from a DialClock, so a unit test drives the back-off with a fake clock (test/unit/net-dialer.test.ts).
// Redials are jittered (like Hyperswarm's retry timer) so that peers that lost each other at the same
// moment do not redial in lock-step.
import type { Logger } from '../../shared/log'
import { DialLimitError, MAX_DIAL_TARGETS, type DiscoveredDialLimits } from '../discovery/discovered-dials'
import { TokenBucket } from './rate-limit'
import { firstLine, shortId } from '../util/text'

/** Time, chance and timers, injectable for tests. */
export interface DialClock {
  now(): number
  /** In [0, 1), like Math.random. */
  random(): number
  setTimer(fn: () => void, ms: number): unknown
  clearTimer(timer: unknown): void
}

export const realClock: DialClock = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimer: (fn, ms) => {
    const timer = setTimeout(fn, ms)
    timer.unref?.() // a pending redial never keeps the process alive
    return timer
  },
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
}

/** Redial back-off: initial delay, cap, and relative jitter (0.5 = ±50%). */
export interface Backoff {
  initialMs: number
  maxMs: number
  jitter: number
}

export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({ initialMs: 250, maxMs: 30_000, jitter: 0.5 })

/** The delay before attempt number `attempt + 1` (0-based), given a draw `random` in [0, 1). */
export function backoffDelay(attempt: number, backoff: Backoff, random: number): number {
  const { initialMs, maxMs, jitter } = backoff
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random - 1))))
}

export interface DialState<A> {
  endpointId: string
  addr: A
  /** Dialed on a discovery source's say-so only: limited, and forgotten after `maxFailures`. */
  discovered: boolean
  /** Dial attempts since the last completed handshake (the back-off's `attempt` is reset more often). */
  failures: number
  attempt: number
  inFlight: boolean
  timer: unknown
  nextAttemptAt: number | undefined
  lastError: string | undefined
}

/** What a dial means, from the adapter. `A` is an address, `C` a connection. */
export interface DialerHooks<A, C> {
  /** False while offline (before the first connect() dials do run): nothing is dialed or scheduled. */
  online(): boolean
  /** A live connection (parked, in handshake or active) to the endpoint exists: no dial needed. */
  linked(endpointId: string): boolean
  /** The endpoint is a connected peer (counts against no discovered-dial limit). */
  connected(endpointId: string): boolean
  /** One dial attempt; rejects with the reason it failed. */
  connect(addr: A): Promise<C>
  /** A dial succeeded and is still wanted: run the connection (handshake, then reading). */
  opened(conn: C): Promise<void>
  /** A dial succeeded but is no longer wanted (we went offline, the target was dropped meanwhile). */
  discard(conn: C): void
  /** A discovered target is no longer dialed. */
  dropped(endpointId: string, reason: string): void
}

export interface DialerOptions {
  backoff: Backoff
  discoveredLimits: Required<DiscoveredDialLimits>
  logger: Logger
  clock?: DialClock
}

export class Dialer<A, C> {
  private readonly targets = new Map<string, DialState<A>>()
  /** Peers our user disconnected: refused (E_DISCONNECTED) until dial() asks for them again. */
  private readonly held = new Set<string>()
  private readonly clock: DialClock
  /** Shared by every attempt at a discovered peer, so discovery cannot make us spray packets. */
  private readonly discoveredBudget: TokenBucket

  constructor(
    private readonly hooks: DialerHooks<A, C>,
    private readonly options: DialerOptions,
  ) {
    this.clock = options.clock ?? realClock
    const limits = options.discoveredLimits
    this.discoveredBudget = new TokenBucket(limits.dialsPerSecond, limits.burst, this.clock.now())
  }

  /**
   * Remembers a target and dials it now (see IrohNetworkAdapter.dial). Throws DialLimitError past the
   * limits. A discovered dial of a held peer is ignored; a person's dial lifts the hold.
   */
  dial(endpointId: string, addr: A, discovered: boolean): void {
    // A person's Disconnect holds until a person dials the peer again, never on discovery's say-so.
    if (discovered && this.held.has(endpointId)) return
    if (!discovered) this.held.delete(endpointId)
    const existing = this.targets.get(endpointId)
    if (existing) {
      existing.addr = addr
      existing.attempt = 0
      // A discovered peer re-offered with new addresses keeps its failure count: new addresses must
      // not buy a liar endless dials. A person's dial makes it a person's target.
      if (!discovered) {
        existing.discovered = false
        existing.failures = 0
      }
    } else {
      const limits = this.options.discoveredLimits
      if (this.targets.size >= MAX_DIAL_TARGETS) throw new DialLimitError(`already dialing ${MAX_DIAL_TARGETS} peers`)
      if (discovered && this.unreachedDiscoveredTargets() >= limits.maxTargets) {
        throw new DialLimitError(`already dialing ${limits.maxTargets} discovered peers that did not answer yet`)
      }
      this.targets.set(endpointId, {
        endpointId,
        addr,
        discovered,
        failures: 0,
        attempt: 0,
        inFlight: false,
        timer: undefined,
        nextAttemptAt: undefined,
        lastError: undefined,
      })
    }
    const state = this.targets.get(endpointId)!
    if (state.timer) {
      this.clock.clearTimer(state.timer)
      state.timer = undefined
    }
    void this.attempt(state)
  }

  has(endpointId: string): boolean {
    return this.targets.has(endpointId)
  }

  /** The targets, for peers views (read-only use). */
  all(): IterableIterator<Readonly<DialState<A>>> {
    return this.targets.values()
  }

  /** We dial this endpoint on a discovery source's word only (said in our hello: the peer may trim it). */
  isDiscovered(endpointId: string): boolean {
    return this.targets.get(endpointId)?.discovered === true
  }

  /** Stops dialing a target only discovery asked for. Returns whether it was dropped. */
  forgetDiscovered(endpointId: string, reason: string): boolean {
    const state = this.targets.get(endpointId)
    if (!state?.discovered) return false
    this.drop(state, reason)
    return true
  }

  /** Stops dialing a target (a person's Disconnect); `hold` also refuses it until dial() names it again. */
  stop(endpointId: string, hold: boolean): void {
    if (hold) this.held.add(endpointId)
    const state = this.targets.get(endpointId)
    if (state?.timer) this.clock.clearTimer(state.timer)
    this.targets.delete(endpointId)
  }

  isHeld(endpointId: string): boolean {
    return this.held.has(endpointId)
  }

  /** Undoes stop()'s hold without dialing. */
  release(endpointId: string): void {
    this.held.delete(endpointId)
  }

  /** Offline: no timer runs until resumeAll(). */
  pauseAll(): void {
    for (const state of this.targets.values()) {
      if (state.timer) this.clock.clearTimer(state.timer)
      state.timer = undefined
      state.nextAttemptAt = undefined
    }
  }

  /** Online again: every target is dialed now, its back-off reset. */
  resumeAll(): void {
    for (const state of this.targets.values()) {
      state.attempt = 0
      void this.attempt(state)
    }
  }

  /** A handshake with the target completed: its back-off and failure count start over. */
  reached(endpointId: string): void {
    const target = this.targets.get(endpointId)
    if (!target) return
    target.attempt = 0
    target.failures = 0
    target.lastError = undefined
  }

  /** Why the last attempt at a target failed (a refusal), for its peers row. */
  noteError(endpointId: string, reason: string): void {
    const target = this.targets.get(endpointId)
    if (target) target.lastError = reason
  }

  /**
   * The connection to a target ended or failed: redial it after its back-off. `permanent` (a refusal
   * that will not change on its own) backs off to the cap at once.
   */
  redial(endpointId: string, permanent = false): void {
    const state = this.targets.get(endpointId)
    if (state) this.scheduleRedial(state, permanent)
  }

  /** Discovered targets we hold no connection to: the ones `maxTargets` counts. */
  private unreachedDiscoveredTargets(): number {
    let n = 0
    for (const t of this.targets.values()) if (t.discovered && !this.hooks.connected(t.endpointId)) n++
    return n
  }

  private drop(state: DialState<A>, reason: string): void {
    if (state.timer) this.clock.clearTimer(state.timer)
    state.timer = undefined
    this.targets.delete(state.endpointId)
    this.options.logger.debug(`net: no longer dialing ${shortId(state.endpointId)}: ${reason}`)
    this.hooks.dropped(state.endpointId, reason)
  }

  private later(state: DialState<A>, delay: number): void {
    state.nextAttemptAt = this.clock.now() + delay
    state.timer = this.clock.setTimer(() => {
      state.timer = undefined
      void this.attempt(state)
    }, delay)
  }

  private async attempt(state: DialState<A>): Promise<void> {
    const { hooks } = this
    if (!hooks.online() || state.inFlight || this.targets.get(state.endpointId) !== state) return
    if (hooks.linked(state.endpointId)) return
    if (state.discovered) {
      if (state.failures >= this.options.discoveredLimits.maxFailures) {
        this.drop(state, `${state.failures} failed dials (${state.lastError ?? 'no answer'})`)
        return
      }
      const waitMs = this.discoveredBudget.takeOrWait(this.clock.now())
      if (waitMs > 0) {
        // Over the budget for discovered dials: try again when a token is there (jittered, so the
        // waiting targets do not all wake at once).
        if (state.timer) this.clock.clearTimer(state.timer)
        this.later(state, Math.round(waitMs * (1 + this.clock.random())))
        return
      }
      state.failures++
    }
    state.inFlight = true
    state.nextAttemptAt = undefined
    let conn: C
    try {
      conn = await hooks.connect(state.addr)
    } catch (err) {
      state.inFlight = false
      state.lastError = firstLine(err)
      this.options.logger.debug(`net: dial ${shortId(state.endpointId)} failed: ${state.lastError}`)
      this.scheduleRedial(state)
      return
    }
    state.inFlight = false
    if (!hooks.online() || this.targets.get(state.endpointId) !== state) {
      hooks.discard(conn)
      return
    }
    await hooks.opened(conn)
  }

  private scheduleRedial(state: DialState<A>, permanent = false): void {
    // Record a permanent refusal before any early return: it can arrive while the dial that caused it
    // is still in flight, and the redial scheduled when that dial settles must back off to the cap too.
    const limits = this.options.discoveredLimits
    if (permanent) state.attempt = Math.max(state.attempt, 30)
    if (permanent && state.discovered) state.failures = Math.max(state.failures, limits.maxFailures)
    if (!this.hooks.online() || state.timer || state.inFlight || this.targets.get(state.endpointId) !== state) return
    if (this.hooks.linked(state.endpointId)) return
    if (state.discovered && state.failures >= limits.maxFailures) {
      this.drop(state, `${state.failures} failed dials (${state.lastError ?? 'no answer'})`)
      return
    }
    const delay = backoffDelay(state.attempt, this.options.backoff, this.clock.random())
    state.attempt++
    this.later(state, delay)
  }
}
