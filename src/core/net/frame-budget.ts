// One budget for the bytes all peers' partial frames hold. Each peer may send frames up to the frame
// limit, so without a shared cap ten peers each holding an almost complete 16 MiB frame keep 160 MiB
// (plus the binding's copies) for as long as they like. A large frame reserves its declared length
// before its payload is buffered; when the budget is spent its reader waits (QUIC flow control then
// holds the sender back) until a frame completes or a stalled holder is dropped. Small frames are
// not counted: they cost at most `reserveAbove` per connection, and connections are capped.

export const DEFAULT_FRAME_BUDGET_BYTES = 64 * 1024 * 1024
/** Frames up to this size are not reserved (a sync message is usually far smaller). */
export const RESERVE_ABOVE_BYTES = 64 * 1024

export class FrameBudgetError extends Error {
  override name = 'FrameBudgetError'
  readonly code = 'E_FRAME_BUDGET'
}

interface Waiter {
  bytes: number
  resolve: () => void
  reject: (err: Error) => void
}

export class FrameBudget {
  private usedBytes = 0
  private readonly waiters: Waiter[] = []

  constructor(readonly limitBytes: number = DEFAULT_FRAME_BUDGET_BYTES) {}

  get used(): number {
    return this.usedBytes
  }

  get waiting(): number {
    return this.waiters.length
  }

  /** Takes `bytes` now if they fit and nobody waits ahead (first come, first served). */
  tryTake(bytes: number): boolean {
    if (this.waiters.length > 0 || this.usedBytes + bytes > this.limitBytes) return false
    this.usedBytes += bytes
    return true
  }

  /**
   * Waits until `bytes` fit. A request larger than the whole budget waits for an empty budget and
   * then takes it all (a frame limit above the budget still works, one frame at a time).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryTake(Math.min(bytes, this.limitBytes))) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { bytes: Math.min(bytes, this.limitBytes), resolve, reject }
      this.waiters.push(waiter)
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(waiter)
          if (i >= 0) this.waiters.splice(i, 1)
          reject(new FrameBudgetError('gave up waiting for frame budget'))
          this.wake()
        },
        { once: true },
      )
    })
  }

  give(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - Math.min(bytes, this.limitBytes))
    this.wake()
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.usedBytes + this.waiters[0]!.bytes <= this.limitBytes) {
      const w = this.waiters.shift()!
      this.usedBytes += w.bytes
      w.resolve()
    }
  }
}
