// A clock for loops that must not hold the event loop: work until a slice's budget is spent, then yield
// one turn (timers, I/O and other callbacks run), then go on. Used where a burst arrives at once: a bulk
// frame's documents (protocols/bulk/slices.ts) and a read chunk's frames (net/links.ts).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'

export class SliceClock {
  private started = performance.now()

  /** `budgetMs` 0: never due (the whole burst in one go). */
  constructor(readonly budgetMs: number) {}

  /** True when the loop should yield before its next step. */
  due(): boolean {
    return this.budgetMs > 0 && performance.now() - this.started >= this.budgetMs
  }

  /** Yields one turn of the event loop and starts a new slice. */
  async next(): Promise<void> {
    await yieldToEventLoop()
    this.started = performance.now()
  }
}
