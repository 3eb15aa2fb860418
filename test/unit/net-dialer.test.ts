// The dialer without sockets: a fake clock (time, timers, the jitter's random draw) and fake hooks
// whose connect() fails or succeeds on command. Checks the back-off sequence and its cap and jitter,
// the discovered-dial limits (budget, maxTargets, maxFailures), a person's hold, offline and permanent
// refusals. The numbers are the adapter's defaults (dialer.ts, discovered-dials.ts).
import assert from 'node:assert/strict'
import { backoffDelay, DEFAULT_BACKOFF, Dialer, type DialClock, type DialerHooks } from '../../src/core/net/dialer'
import { DEFAULT_DISCOVERED_DIAL_LIMITS, DialLimitError, discoveredDialLimits } from '../../src/core/discovery/discovered-dials'
import { noopLogger } from '../../src/shared/log'

class FakeClock implements DialClock {
  time = 1_000_000
  draw = 0.5
  private timers: { at: number; fn: () => void; id: number }[] = []
  private ids = 0
  now() {
    return this.time
  }
  random() {
    return this.draw
  }
  setTimer(fn: () => void, ms: number) {
    const id = ++this.ids
    this.timers.push({ at: this.time + ms, fn, id })
    return id
  }
  clearTimer(id: unknown) {
    this.timers = this.timers.filter((t) => t.id !== id)
  }
  get pending() {
    return this.timers.length
  }
  /** The delays of the timers waiting now, from now. */
  delays() {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b)
  }
  /** Runs the next timer (moving time to it), then lets the attempt it starts settle. */
  async next(): Promise<number> {
    this.timers.sort((a, b) => a.at - b.at)
    const t = this.timers.shift()
    assert.ok(t, 'a timer is waiting')
    const waited = t.at - this.time
    this.time = t.at
    t.fn()
    await settle()
    return waited
  }
}

const settle = () => new Promise((r) => setImmediate(r))

/** Hooks whose connect() fails unless told otherwise; records what happened. */
function fakeHooks(options: { succeed?: boolean } = {}) {
  const log = { connects: [] as string[], opened: [] as string[], dropped: [] as string[], discarded: 0 }
  let online = true
  const hooks: DialerHooks<string, string> = {
    online: () => online,
    linked: () => false,
    connected: () => false,
    connect: async (addr) => {
      log.connects.push(addr)
      if (!options.succeed) throw new Error('no answer')
      return `conn:${addr}`
    },
    opened: async (conn) => void log.opened.push(conn),
    discard: () => void log.discarded++,
    dropped: (id, reason) => void log.dropped.push(`${id}: ${reason}`),
  }
  return { hooks, log, setOnline: (v: boolean) => (online = v) }
}

function dialer(hooks: DialerHooks<string, string>, clock: FakeClock, limits = {}) {
  return new Dialer(hooks, { backoff: { ...DEFAULT_BACKOFF }, discoveredLimits: discoveredDialLimits(limits), logger: noopLogger, clock })
}

const id = (n: number) => n.toString(16).padStart(64, '0')

describe('net/dialer', () => {
  it('backs off 250 ms, doubling to the 30 s cap, jittered ±50% by the draw', () => {
    const b = DEFAULT_BACKOFF
    assert.deepEqual([0, 1, 2, 3, 6, 7, 8, 40].map((a) => backoffDelay(a, b, 0.5)), [250, 500, 1000, 2000, 16000, 30000, 30000, 30000])
    assert.equal(backoffDelay(0, b, 0), 125)
    assert.equal(backoffDelay(0, b, 0.999999), 375)
    assert.equal(backoffDelay(8, b, 0), 15000)
  })

  it("redials a person's target after each failure with a growing delay, forever", async () => {
    const clock = new FakeClock()
    const { hooks, log } = fakeHooks()
    const d = dialer(hooks, clock)
    d.dial(id(1), 'a', false)
    await settle()
    assert.deepEqual(log.connects, ['a'])
    const waits: number[] = []
    for (let i = 0; i < 10; i++) waits.push(await clock.next())
    assert.deepEqual(waits, [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
    assert.equal(log.connects.length, 11)
    assert.deepEqual(log.dropped, [])
    const row = [...d.all()][0]!
    assert.equal(row.lastError, 'no answer')
    assert.equal(row.nextAttemptAt, clock.time + 30000)
  })

  it('a dial of a target already waiting starts over at once, and a handshake resets the back-off', async () => {
    const clock = new FakeClock()
    const { hooks, log } = fakeHooks()
    const d = dialer(hooks, clock)
    d.dial(id(1), 'a', false)
    await settle()
    for (let i = 0; i < 4; i++) await clock.next()
    assert.deepEqual(clock.delays(), [4000])
    d.dial(id(1), 'b', false) // new address: dialed now, the waiting timer cleared
    await settle()
    assert.deepEqual(log.connects.at(-1), 'b')
    assert.deepEqual(clock.delays(), [250])
    d.reached(id(1))
    d.redial(id(1)) // a timer waits already: nothing more
    assert.equal(clock.pending, 1)
  })

  it('a permanent refusal backs off to the cap at once', async () => {
    const clock = new FakeClock()
    const { hooks } = fakeHooks({ succeed: true })
    const d = dialer(hooks, clock)
    d.dial(id(1), 'a', false)
    await settle()
    d.redial(id(1), true)
    assert.deepEqual(clock.delays(), [30000])
  })

  it('forgets a discovered target after maxFailures failed dials in a row', async () => {
    const clock = new FakeClock()
    const { hooks, log } = fakeHooks()
    const d = dialer(hooks, clock)
    d.dial(id(1), 'a', true)
    await settle()
    for (let i = 0; i < DEFAULT_DISCOVERED_DIAL_LIMITS.maxFailures - 1; i++) await clock.next()
    assert.equal(log.connects.length, DEFAULT_DISCOVERED_DIAL_LIMITS.maxFailures)
    assert.equal(d.has(id(1)), false)
    assert.equal(clock.pending, 0)
    assert.deepEqual(log.dropped, [`${id(1)}: 5 failed dials (no answer)`])
  })

  it('spends the discovered-dial budget (burst 8, 2/s) and refuses past maxTargets', async () => {
    const clock = new FakeClock()
    const { hooks, log } = fakeHooks()
    const d = dialer(hooks, clock, { maxTargets: 10 })
    for (let i = 1; i <= 10; i++) d.dial(id(i), `a${i}`, true)
    await settle()
    assert.equal(log.connects.length, 8, 'the burst')
    // The two over the budget wait for a token (500 ms at 2/s), jittered up to twice that.
    const waiting = clock.delays().filter((ms) => ms >= 500)
    assert.ok(waiting.length >= 2, `${clock.delays()}`)
    assert.throws(() => d.dial(id(11), 'x', true), DialLimitError)
    d.dial(id(11), 'x', false) // a person's dial is not a discovered one
    await settle()
    assert.equal(log.connects.at(-1), 'x')
  })

  it("a person's Disconnect holds against discovery until a person dials again", async () => {
    const clock = new FakeClock()
    const { hooks, log } = fakeHooks()
    const d = dialer(hooks, clock)
    d.dial(id(1), 'a', false)
    await settle()
    d.stop(id(1), true)
    assert.equal(clock.pending, 0)
    assert.ok(d.isHeld(id(1)))
    d.dial(id(1), 'a', true)
    await settle()
    assert.equal(log.connects.length, 1, 'discovery cannot lift the hold')
    d.dial(id(1), 'a', false)
    await settle()
    assert.equal(d.isHeld(id(1)), false)
    assert.equal(log.connects.length, 2)
  })

  it('offline: no timers; a dial that lands meanwhile is discarded; online again dials everyone at once', async () => {
    const clock = new FakeClock()
    const { hooks, log, setOnline } = fakeHooks()
    const d = dialer(hooks, clock)
    d.dial(id(1), 'a', false)
    d.dial(id(2), 'b', false)
    await settle()
    assert.equal(clock.pending, 2)
    setOnline(false)
    d.pauseAll()
    assert.equal(clock.pending, 0)
    d.redial(id(1))
    assert.equal(clock.pending, 0, 'nothing is scheduled while offline')
    setOnline(true)
    d.resumeAll()
    await settle()
    assert.equal(log.connects.length, 4)

    const ok = fakeHooks({ succeed: true })
    const d2 = dialer(ok.hooks, clock)
    ok.hooks.connect = async (addr) => {
      ok.setOnline(false) // went offline while the dial was in flight
      return `conn:${addr}`
    }
    d2.dial(id(3), 'c', false)
    await settle()
    assert.equal(ok.log.discarded, 1)
    assert.deepEqual(ok.log.opened, [])
  })
})
