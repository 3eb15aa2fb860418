// Link reports: each peer tells its connected peers which peers it is connected to, so a UI can draw
// the mesh beyond our own links (the Mesh view, `tonk-p2p peers --json`). One small frame
// (`{type: 'tonk/links', links: [{id, path, rttMs?}]}`) to every connected peer whose hello lists
// 'links', when our links change (batched) and on a slow tick (RTTs move). What we receive is the
// sender's word about its own links, authenticated only as coming from it (the frame arrives on its
// link): shown, never acted on. Bounded: at most 64 entries read per frame, one report kept per
// connected peer (replaced by its next, dropped when it leaves), frames from one peer closer than
// MIN_GAP_MS apart ignored.
import type { ExtensionChannel } from '../../net/extension-channel'
import { HEX64 } from '../../util/text'
import { LINKS } from '../registry'

export const LINKS_FEATURE = LINKS.feature
const MAX_LINKS_PER_FRAME = 64
/** A link change is told after this many ms, so a burst of joins is one frame. */
const BATCH_MS = 500
/** Reports are sent again this often (RTTs change without a link change). */
const TICK_MS = 15_000
/** Frames from one peer closer than this are ignored (a peer cannot make us redraw at will). */
const MIN_GAP_MS = 200

export interface ReportedLink {
  /** The endpoint id the reporting peer is linked to. */
  id: string
  path: 'direct' | 'relay' | 'unknown'
  rttMs?: number
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
    out.push(link)
  }
  return out
}

export class LinkReports {
  private readonly reports = new Map<string, LinkReport>()
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
      this.channel.onPeerJoined(() => this.schedule()),
      this.channel.onPeerLeft((id) => {
        if (this.reports.delete(id)) this.onChange()
        this.schedule()
      }),
      this.channel.onFrame(LINKS, (from, frame) => this.receive(from, frame)),
    )
    this.tick = setInterval(() => this.sendAll(), TICK_MS)
    this.tick.unref?.()
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
    clearTimeout(this.batch)
    clearInterval(this.tick)
    this.batch = this.tick = undefined
    this.reports.clear()
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
    const links = connected.slice(0, MAX_LINKS_PER_FRAME).map((p) => ({ id: p.endpointId, path: p.path?.kind ?? 'unknown', ...(p.rttMs !== undefined && { rttMs: p.rttMs }) }))
    for (const p of connected) this.channel.send(p.endpointId, LINKS, { type: LINKS.frames.links, links })
  }

  private receive(from: string, frame: Record<string, unknown>): void {
    const previous = this.reports.get(from)
    const now = Date.now()
    if (previous && now - previous.at < MIN_GAP_MS) return
    this.reports.set(from, { at: now, links: readLinksFrame(frame, from) })
    this.onChange()
  }
}
