// Bursts of acknowledged writes against a serving peer's control socket, for the kill -9 tests.
// Four writers are in flight at once, so a kill lands in the middle of saves, not between them.
// A write counts as acknowledged only if its reply arrived before `halt()`: the caller halts, then
// kills the peer, so no reply racing the kill is counted.
import type { ControlClient } from '../../src/core/host/control'

export interface Burst {
  /** Puts started so far. */
  readonly attempted: number
  /** Stops counting acknowledgements and starting puts; call it just before the kill. */
  halt(): void
  /** Settles when every writer has stopped (the kill makes pending puts fail). */
  readonly done: Promise<void>
}

export function startBurst(client: ControlClient, round: number, onAck: (path: string) => void, lanes = 4): Burst {
  let halted = false
  let attempted = 0
  const writer = async (lane: number) => {
    for (let i = 0; !halted; i++) {
      const path = `/crash/r${round}/l${lane}-w${i}`
      attempted++
      try {
        await client.call('put', { path, value: { path, round, i } })
        if (!halted) onAck(path)
      } catch (err) {
        if (process.env.TONK_DEBUG) console.log(`lane ${lane} round ${round}: ${(err as Error).message}`)
        return // the peer died mid-request: not acknowledged
      }
    }
  }
  const done = Promise.all(Array.from({ length: lanes }, (_, lane) => writer(lane))).then(() => {})
  return {
    get attempted() {
      return attempted
    },
    halt: () => {
      halted = true
    },
    done,
  }
}
