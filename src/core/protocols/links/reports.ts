// Link reports: each peer tells its connected peers which peers it is connected to, so a UI can draw
// the mesh beyond our own links (the Mesh view, `tonk-p2p peers --json`). One small frame
// (`{type: 'tonk/links', links: [{id, path, rttMs?}]}`) to every connected peer whose hello lists
// 'links', when our links change (batched) and on a slow tick (RTTs move). What we receive is the
// sender's word about its own links, authenticated only as coming from it (the frame arrives on its
// link): shown, never acted on. Bounded: at most 64 entries read per frame, one report kept per
// connected peer (replaced by its next, dropped when it leaves), frames from one peer closer than
// MIN_GAP_MS apart ignored.
// Sync RTT: a ping/pong pair through the same framing as the Repo's messages (QUIC's own RTT is below
// it), every PING_MS and when a link's fault changes, so a `link --delay` shows in the round trip that
// sync sees. A pong answers one ping (same size, no amplification); pings closer than MIN_GAP_MS apart
// from one peer are not answered.
import type { ExtensionChannel } from '../../net/extension-channel'
import { HEX64 } from '../../util/text'
import { LINKS } from '../registry'

export const LINKS_FEATURE = LINKS.feature
const MAX_LINKS_PER_FRAME = 64
/** What a reported fault may say: link-fault.ts describeFault's shapes, nothing else (it is drawn). */
const FAULT_LABEL = /^(drop|loss \d{1,3}%|delay \d{1,6}ms( ±\d{1,6}ms)?)$/
/** A link change is told after this many ms, so a burst of joins is one frame. */
const BATCH_MS = 500
/** Reports are sent again this often (RTTs change without a link change). */
const TICK_MS = 15_000
/** Frames from one peer closer than this are ignored (a peer cannot make us redraw at will). */
const MIN_GAP_MS = 200
/** How often each connected peer is pinged. */
const PING_MS = 5_000

export interface ReportedLink {
  /** The endpoint id the reporting peer is linked to. */
  id: string
  path: 'direct' | 'relay' | 'unknown'
  rttMs?: number
  /** A fault the reporting peer's user put on this link (`drop`, `loss 5%`, `delay 200ms ±20ms`). */
  fault?: string
}

export interface LinkReport {
  /** When we received it (our clock). */
  at: number
  links: ReportedLink[]
}

/** The entries of a received links frame that look sane; anything else is dropped. */
export function readLinksFrame(message: Record<string, unknown>, self?: string): ReportedLink[] {
  if (message.type !== LINKS.frames.links || !Array.isArray(message.links)) return []
  const out: ReportedLink[] = []
  const seen = new Set<string>()
  for (const raw of message.links.slice(0, MAX_LINKS_PER_FRAME)) {
    if (typeof raw !== 'object' || raw === null) continue
    const { id, path, rttMs } = raw as Record<string, unknown>
    if (typeof id !== 'string' || !HEX64.test(id) || seen.has(id) || id === self) continue
    seen.add(id)
    const link: ReportedLink = { id, path: path === 'direct' || path === 'relay' ? path : 'unknown' }
    if (typeof rttMs === 'number' && Number.isFinite(rttMs) && rttMs >= 0 && rttMs < 600_000) link.rttMs = Math.round(rttMs * 10) / 10
    const fault = (raw as Record<string, unknown>).fault
    if (typeof fault === 'string' && FAULT_LABEL.test(fault)) link.fault = fault
    out.push(link)
  }
  return out
}

export class LinkReports {
  private readonly reports = new Map<string, LinkReport>()
  /** Per peer: the ping in flight (its number and when it left), and the last round trip measured. */
  private readonly pings = new Map<string, { n: number; at: number }>()
  private readonly rtts = new Map<string, number>()
  private readonly lastPingIn = new Map<string, number>()
  private pingTimer?: NodeJS.Timeout
  private pingCounter = 0
  private readonly unsubscribe: (() => void)[] = []
  private batch?: NodeJS.Timeout
  private tick?: NodeJS.Timeout

  constructor(
    private readonly channel: ExtensionChannel,
    private readonly self: string,
    /** A report arrived or went: the mesh changed. */
    private readonly onChange: () => void = () => {},
  ) {}

  start(): void {
    this.unsubscribe.push(
      this.channel.onPeerJoined((p) => {
        this.schedule()
        this.ping(p.endpointId)
      }),
      this.channel.onPeerLeft((id) => {
        for (const m of [this.pings, this.rtts, this.lastPingIn]) m.delete(id)
        if (this.reports.delete(id)) this.onChange()
        this.schedule()
      }),
      this.channel.onFrame(LINKS, (from, frame) => this.receive(from, frame)),
    )
    this.tick = setInterval(() => this.sendAll(), TICK_MS)
    this.tick.unref?.()
    this.pingTimer = setInterval(() => {
      for (const p of this.channel.peers()) if (p.state === 'connected') this.ping(p.endpointId)
    }, PING_MS)
    this.pingTimer.unref?.()
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
    clearTimeout(this.batch)
    clearInterval(this.tick)
    clearInterval(this.pingTimer)
    this.batch = this.tick = this.pingTimer = undefined
    this.reports.clear()
    this.pings.clear()
    this.rtts.clear()
  }

  /** The last round trip of a ping through our framing to this peer, in ms (undefined until measured). */
  syncRttOf(endpointId: string): number | undefined {
    return this.rtts.get(endpointId)
  }

  /** Measures the round trip to a peer now (e.g. its link's fault changed). */
  ping(endpointId: string): void {
    const n = ++this.pingCounter
    if (this.channel.send(endpointId, LINKS, { type: LINKS.frames.ping, n })) this.pings.set(endpointId, { n, at: performance.now() })
  }

  /** What a connected peer last said about its links, or undefined. */
  reportOf(endpointId: string): LinkReport | undefined {
    return this.reports.get(endpointId)
  }

  private schedule(): void {
    if (this.batch) return
    this.batch = setTimeout(() => {
      this.batch = undefined
      this.sendAll()
    }, BATCH_MS)
    this.batch.unref?.()
  }

  /** Our connected peers as links, to every connected peer (each learns the others, not itself again). */
  private sendAll(): void {
    const connected = this.channel.peers().filter((p) => p.state === 'connected')
    const links = connected
      .slice(0, MAX_LINKS_PER_FRAME)
      .map((p) => ({ id: p.endpointId, path: p.path?.kind ?? 'unknown', ...(p.rttMs !== undefined && { rttMs: p.rttMs }), ...(p.fault && { fault: p.fault.label }) }))
    for (const p of connected) this.channel.send(p.endpointId, LINKS, { type: LINKS.frames.links, links })
  }

  private receive(from: string, frame: Record<string, unknown>): void {
    if (frame.type === LINKS.frames.ping) return this.answerPing(from, frame)
    if (frame.type === LINKS.frames.pong) return this.takePong(from, frame)
    const previous = this.reports.get(from)
    const now = Date.now()
    if (previous && now - previous.at < MIN_GAP_MS) return
    this.reports.set(from, { at: now, links: readLinksFrame(frame, from) })
    this.onChange()
  }

  private answerPing(from: string, frame: Record<string, unknown>): void {
    const now = Date.now()
    if (now - (this.lastPingIn.get(from) ?? 0) < MIN_GAP_MS || !Number.isSafeInteger(frame.n)) return
    this.lastPingIn.set(from, now)
    this.channel.send(from, LINKS, { type: LINKS.frames.pong, n: frame.n as number })
  }

  private takePong(from: string, frame: Record<string, unknown>): void {
    const pending = this.pings.get(from)
    if (!pending || frame.n !== pending.n) return // not the ping in flight: ignored
    this.pings.delete(from)
    const rtt = Math.round((performance.now() - pending.at) * 10) / 10
    const before = this.rtts.get(from)
    this.rtts.set(from, rtt)
    // Small jitter is not news; a change a person would notice is.
    if (before === undefined || Math.abs(before - rtt) > Math.max(5, before * 0.2)) this.onChange()
  }
}
