// Per-peer limits on what a remote sends us: token buckets for messages/s and bytes/s. A frame is
// always charged (a bucket may go into debt, so a frame larger than the bucket still passes once); the
// reader then pauses until the debt is paid, which stops reading the QUIC stream, so flow control
// pushes back on the sender instead of our memory filling. A peer that stays in debt without a break
// for `maxThrottledMs` is not bursting but flooding: the adapter drops it (E_RATE_LIMITED).
// Defaults sit well above what a legitimate peer sends (the binding's own ceiling is ~27 MB/s and
// 40-60k small frames/s), so only abuse is throttled. A frame costs one message token unless the caller
// knows it costs more than its size says (a request for a document we do not hold: protocols/sync/request-gate.ts).

export interface RateLimitOptions {
  /** Sustained messages per second from one peer. Default 5000. */
  messagesPerSecond?: number
  /** Sustained bytes per second (frame headers included). Default 32 MiB. */
  bytesPerSecond?: number
  /** Bucket size in seconds of the rate: how long a peer may burst above it. Default 2. */
  burstSeconds?: number
  /** Throttled this long without a break: dropped. Default 10 000 ms. */
  maxThrottledMs?: number
}

export const DEFAULT_RATE_LIMIT: Readonly<Required<RateLimitOptions>> = Object.freeze({
  messagesPerSecond: 5000,
  bytesPerSecond: 32 * 1024 * 1024,
  burstSeconds: 2,
  maxThrottledMs: 10_000,
})

/** A bucket of `capacity` tokens refilled at `ratePerSecond`; `take` may leave it in debt. */
export class TokenBucket {
  private tokens: number
  private last: number
  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity
    this.last = now
  }

  /** Takes `n` tokens; returns how many ms until the bucket is out of debt (0 when it is not in debt). */
  take(n: number, now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond)
    this.last = now
    this.tokens -= n
    return this.tokens >= 0 ? 0 : (-this.tokens / this.ratePerSecond) * 1000
  }

  /** Takes one token only if there is one: returns 0, or how many ms until there is one (nothing taken). */
  takeOrWait(now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000)
  }

  /** Takes `n` tokens only if the bucket holds them (never goes into debt); returns whether it did. */
  tryTake(n: number, now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond)
    this.last = now
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}

/** A peer out of debt for this long is bursting, not flooding: its throttle streak ends. */
const STREAK_QUIET_MS = 1000

export type Charge = { waitMs: number; exceeded: false } | { waitMs: number; exceeded: true; throttledMs: number }

export class PeerRateLimiter {
  private readonly messages: TokenBucket
  private readonly bytes: TokenBucket
  private readonly maxThrottledMs: number
  private throttledSince: number | undefined
  private lastThrottledAt: number | undefined
  /** Frames that found a bucket in debt, for logs and tests. */
  throttledFrames = 0

  constructor(
    options: RateLimitOptions = {},
    /** The largest frame a peer may send: the byte bucket holds at least one. */
    maxFrameBytes = 0,
    private readonly clock: () => number = () => performance.now(),
  ) {
    const o = { ...DEFAULT_RATE_LIMIT, ...options }
    for (const [k, v] of Object.entries(o)) {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`rate limit ${k} must be a positive number, got ${v}`)
    }
    const now = clock()
    this.messages = new TokenBucket(o.messagesPerSecond, o.messagesPerSecond * o.burstSeconds, now)
    this.bytes = new TokenBucket(o.bytesPerSecond, Math.max(o.bytesPerSecond * o.burstSeconds, maxFrameBytes), now)
    this.maxThrottledMs = o.maxThrottledMs
  }

  /**
   * Charges one received frame of `bytes` (header included) that cost us the work of `messages`
   * ordinary messages (default 1).
   */
  charge(bytes: number, messages = 1): Charge {
    const now = this.clock()
    const waitMs = Math.max(this.messages.take(messages, now), this.bytes.take(bytes, now))
    if (waitMs === 0) {
      // Sleeps overshoot, so a flooder finds a few tokens after each pause: only a quiet second ends a streak.
      if (this.lastThrottledAt !== undefined && now - this.lastThrottledAt > STREAK_QUIET_MS) this.throttledSince = undefined
      return { waitMs, exceeded: false }
    }
    this.throttledSince ??= now
    this.lastThrottledAt = now
    this.throttledFrames++
    const throttledMs = now - this.throttledSince
    if (throttledMs > this.maxThrottledMs) return { waitMs, exceeded: true, throttledMs }
    return { waitMs, exceeded: false }
  }
}
