// Faults per link (issue 17): a debugging tool that breaks one peer's traffic on purpose, in our
// framing layer, on both directions: `drop` (a partition), `delay` (with jitter), `loss` (a share of
// frames). Per session and never persisted. The QUIC connection itself stays up under every fault:
// a partition of the *sync traffic* is what a developer wants to watch heal, and keeping QUIC alive
// (its own keep-alives still flow) means no timeout storm, no redial back-off, and the Peers row keeps
// showing the peer with its fault. Lost sync frames leave automerge-repo's sync state believing the
// other side has them (the sender never resends what it once sent), so clearing a drop or loss closes
// that peer's connection (iroh-adapter.ts setLinkFault): the dialing side redials at once, both Repos
// start that peer's sync afresh, and the sides converge.
export type LinkFault =
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number; jitterMs?: number }
  | { kind: 'loss'; pct: number }

/** Caps: a fault is a tool, not a way to hold a peer's frames forever. */
export const MAX_FAULT_DELAY_MS = 60_000
/** Frames held back by a delay, per direction; over it frames are dropped (and counted). */
export const MAX_DELAYED_BYTES = 64 * 1024 * 1024

export class LinkFaultError extends Error {
  readonly code = 'E_LINK_FAULT'
}

/** Checks a fault from a user (CLI, control socket); throws LinkFaultError. */
export function checkFault(fault: LinkFault): LinkFault {
  const whole = (n: unknown, max: number) => typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= max
  switch (fault?.kind) {
    case 'drop':
      return { kind: 'drop' }
    case 'delay':
      if (!whole(fault.ms, MAX_FAULT_DELAY_MS)) throw new LinkFaultError(`a delay is 0..${MAX_FAULT_DELAY_MS} ms`)
      if (fault.jitterMs !== undefined && !whole(fault.jitterMs, MAX_FAULT_DELAY_MS)) throw new LinkFaultError(`jitter is 0..${MAX_FAULT_DELAY_MS} ms`)
      return { kind: 'delay', ms: fault.ms, ...(fault.jitterMs ? { jitterMs: fault.jitterMs } : {}) }
    case 'loss':
      if (!whole(fault.pct, 100)) throw new LinkFaultError('loss is 0..100 %')
      return { kind: 'loss', pct: fault.pct }
    default:
      throw new LinkFaultError('a fault is drop, delay or loss')
  }
}

export function describeFault(fault: LinkFault): string {
  if (fault.kind === 'drop') return 'drop'
  if (fault.kind === 'loss') return `loss ${fault.pct}%`
  return `delay ${fault.ms}ms${fault.jitterMs ? ` ±${fault.jitterMs}ms` : ''}`
}

/** What happens to one frame: pass now, drop it, or hold it this long. */
export type FaultVerdict = { action: 'pass' } | { action: 'drop' } | { action: 'delay'; ms: number }

/**
 * One direction of one peer's faulted traffic. Delayed frames keep their order: they wait in one FIFO
 * and each is released no earlier than the one before it (jitter never reorders a stream).
 */
export class FaultedDirection {
  private readonly queue: { at: number; bytes: number; run: () => void }[] = []
  private heldBytes = 0
  private timer: NodeJS.Timeout | undefined
  dropped = 0
  delayed = 0

  constructor(private readonly random: () => number = Math.random) {}

  /** Passes `run` through now, later, or never (dropped); returns what was done for the trace. */
  apply(fault: LinkFault | undefined, bytes: number, run: () => void): FaultVerdict {
    const v = this.verdict(fault, bytes)
    if (v.action === 'pass') run()
    else if (v.action === 'delay') this.hold(Date.now() + v.ms, bytes, run)
    return v
  }

  private verdict(fault: LinkFault | undefined, bytes: number): FaultVerdict {
    if (!fault && this.queue.length === 0) return { action: 'pass' }
    if (fault?.kind === 'drop' || (fault?.kind === 'loss' && this.random() * 100 < fault.pct)) {
      this.dropped++
      return { action: 'drop' }
    }
    const now = Date.now()
    let wait = 0
    if (fault?.kind === 'delay') wait = Math.max(0, fault.ms + (fault.jitterMs ? Math.round((this.random() * 2 - 1) * fault.jitterMs) : 0))
    const last = this.queue.at(-1)?.at ?? 0
    const at = Math.max(now + wait, last)
    if (at <= now && this.queue.length === 0) return { action: 'pass' }
    if (this.heldBytes + bytes > MAX_DELAYED_BYTES) {
      this.dropped++
      return { action: 'drop' }
    }
    this.delayed++
    return { action: 'delay', ms: at - now }
  }

  private hold(at: number, bytes: number, run: () => void): void {
    this.queue.push({ at, bytes, run })
    this.heldBytes += bytes
    if (!this.timer) this.arm()
  }

  private arm(): void {
    const head = this.queue[0]
    if (!head) return
    this.timer = setTimeout(() => this.release(), Math.max(0, head.at - Date.now()))
    this.timer.unref?.()
  }

  private release(): void {
    this.timer = undefined
    const now = Date.now()
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const item = this.queue.shift()!
      this.heldBytes -= item.bytes
      try {
        item.run()
      } catch {
        // A frame for a link that closed meanwhile: nothing to do.
      }
    }
    this.arm()
  }

  /** Forgets held frames (the link closed). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
    this.heldBytes = 0
  }
}

/** One peer's fault and its two directions' counters. */
export interface FaultedPeer {
  fault: LinkFault | undefined
  readonly out: FaultedDirection
  readonly in: FaultedDirection
}

/** What a peers row shows of a fault. */
export interface FaultInfo {
  kind: LinkFault['kind']
  label: string
  dropped: number
  delayed: number
}

/** The faults of this session, by endpoint id. Only this session's user sets them: no remote input. */
export class LinkFaults {
  private readonly byEndpoint = new Map<string, FaultedPeer>()

  get(endpointId: string): FaultedPeer | undefined {
    return this.byEndpoint.get(endpointId)
  }

  /** Sets or clears (undefined) a peer's fault; returns the previous one. */
  set(endpointId: string, fault: LinkFault | undefined): LinkFault | undefined {
    const entry = this.byEndpoint.get(endpointId)
    const previous = entry?.fault
    if (fault) {
      const checked = checkFault(fault)
      if (entry) entry.fault = checked
      else this.byEndpoint.set(endpointId, { fault: checked, out: new FaultedDirection(), in: new FaultedDirection() })
    } else if (entry) {
      // Held frames still go out in order; the entry stays for its counters until the peer leaves.
      entry.fault = undefined
    }
    return previous
  }

  info(endpointId: string): FaultInfo | undefined {
    const e = this.byEndpoint.get(endpointId)
    if (!e?.fault) return undefined
    return { kind: e.fault.kind, label: describeFault(e.fault), dropped: e.out.dropped + e.in.dropped, delayed: e.out.delayed + e.in.delayed }
  }

  /** The peer's connection is gone: frames held for it are moot. Its fault stays for the next one. */
  linkClosed(endpointId: string): void {
    const e = this.byEndpoint.get(endpointId)
    if (!e) return
    e.out.clear()
    e.in.clear()
    if (!e.fault) this.byEndpoint.delete(endpointId)
  }

  clearAll(): void {
    for (const id of [...this.byEndpoint.keys()]) {
      this.byEndpoint.get(id)!.fault = undefined
      this.linkClosed(id)
    }
  }
}

/** The trace's note on a frame a fault touched. */
export function faultNote(v: FaultVerdict): string | undefined {
  return v.action === 'drop' ? 'dropped' : v.action === 'delay' ? `delayed ${Math.round(v.ms)}ms` : undefined
}
