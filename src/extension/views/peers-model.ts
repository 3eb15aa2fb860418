// The Peers view as data: one row per peer (short id + name, state, path, RTT, bytes, last seen, source),
// its per-document sync state as children, and peers that were refused (with the reason).
import type { DocSyncState, PeerSnapshot, SessionSnapshot } from '../../core/session/session'
import { shortId } from '../../core/util/text'
import { formatAgo, formatBytes, SnapshotModel, md, type ViewNode } from './nodes'

// The state is the icon; the description leads with what a narrow sidebar should still show.
const STATE_ICON: Record<string, { id: string; color?: string }> = {
  connected: { id: 'pass-filled', color: 'testing.iconPassed' },
  handshaking: { id: 'sync~spin' },
  dialing: { id: 'sync~spin' },
  reconnecting: { id: 'sync~spin' },
  standby: { id: 'circle-outline' },
  backoff: { id: 'history', color: 'list.warningForeground' },
  offline: { id: 'circle-slash', color: 'disabledForeground' },
  disconnected: { id: 'debug-disconnect', color: 'disabledForeground' },
}
/** How a row names a state that is not "connected" (first in its description). */
const STATE_TEXT: Record<string, string> = {
  reconnecting: 'reconnecting…',
  dialing: 'dialing…',
  handshaking: 'handshaking…',
  offline: 'offline (you)',
  disconnected: 'disconnected by you',
  backoff: 'retrying',
}

const SYNC_LABEL: Record<DocSyncState, string> = { 'in-sync': 'in sync', behind: 'behind', unknown: 'unknown' }
const SYNC_ICON: Record<DocSyncState, { id: string; color?: string }> = {
  'in-sync': { id: 'check', color: 'testing.iconPassed' },
  behind: { id: 'arrow-swap', color: 'list.warningForeground' },
  unknown: { id: 'question' },
}

/** Argument of tonk.disconnectPeer when run from a row. */
export interface PeerNode extends ViewNode {
  endpointId: string
  /** The session the row belongs to ('' with one session running). */
  sessionId: string
}

export class PeersModel extends SnapshotModel {
  constructor(private readonly now: () => number = Date.now) {
    super()
  }

  /** Peers by endpoint id (tests and commands read it). */
  peers(): PeerSnapshot[] {
    return this.snapshot?.peers ?? []
  }

  protected rootsOf(snap: SessionSnapshot, sessionId: string): ViewNode[] {
    const paths = new Map(snap.documents.map((d) => [d.documentId, d.path]))
    const rows: ViewNode[] = snap.peers
      .slice()
      .sort((a, b) => rank(a) - rank(b) || (a.name ?? '').localeCompare(b.name ?? '') || a.endpointId.localeCompare(b.endpointId))
      .map((p) => this.peerNode(snap, sessionId, p, paths))
    const present = new Set(snap.peers.map((p) => p.endpointId))
    const refused = new Map<string, SessionSnapshot['refused'][number]>()
    for (const r of snap.refused) if (!present.has(r.endpointId)) refused.set(r.endpointId, r) // latest wins
    for (const r of refused.values()) {
      rows.push({
        id: `refused:${r.endpointId}`,
        label: shortId(r.endpointId, 10),
        description: `refused ${r.by === 'local' ? 'by us' : 'us'}: ${r.reason}`,
        tooltip: `**${shortId(r.endpointId, 10)}** ${r.by === 'local' ? 'was refused' : 'refused this session'} (${r.direction})\n\n${md(r.code)}: ${md(r.reason)}\n\n\`${r.endpointId}\``,
        contextValue: 'tonk.refused',
        icon: { id: 'error', color: 'list.errorForeground' },
      })
    }
    return rows
  }

  /** A peer by the name we know it by ('you' for this session), else a short id. */
  private peerLabel(snap: SessionSnapshot, endpointId: string): string {
    if (endpointId === snap.endpointId) return 'you'
    return snap.peers.find((q) => q.endpointId === endpointId)?.name ?? shortId(endpointId, 8)
  }

  private peerNode(snap: SessionSnapshot, sessionId: string, p: PeerSnapshot, paths: Map<string, string>): PeerNode {
    const now = this.now()
    const path = p.path ? `${p.path.kind} ${p.path.remoteAddr}` : undefined
    const rtt = p.rttMs ?? p.path?.rttMs
    const connected = p.state === 'connected'
    const otherBuild = p.build && p.build !== snap.bundle.bundleId ? `other build ${p.build.slice(0, 4)}…` : undefined
    const description = [
      connected ? undefined : (STATE_TEXT[p.state] ?? p.state),
      otherBuild,
      // A fault the user put on this link (tonk-p2p link): the row says so, it explains what the peer does.
      p.fault ? `fault: ${p.fault.label}` : undefined,
      // Who has the app open and what they share matters more than the address when the sidebar is narrow.
      presenceText(p),
      path,
      // RTT and bytes change all the time: they are in the tooltip (resolved when hovered), so the row
      // is not redrawn under the mouse for them.
      !connected && p.lastError && p.state !== 'offline' && p.state !== 'disconnected' ? p.lastError : undefined,
    ]
      .filter(Boolean)
      .join(' · ')
    const docs = Object.entries(p.docs)
      .map(([documentId, state]) => ({ documentId, state, path: paths.get(documentId) }))
      .sort((a, b) => (a.path ?? '\uffff' + a.documentId).localeCompare(b.path ?? '\uffff' + b.documentId))
    const counts = docs.reduce((c, d) => ((c[d.state] = (c[d.state] ?? 0) + 1), c), {} as Partial<Record<DocSyncState, number>>)
    const tooltip = [
      `**${md(p.name ?? 'unnamed peer')}** \`${p.endpointId}\``,
      '',
      `| | |\n|---|---|`,
      `| state | ${p.state}${p.direction ? ` (${p.direction})` : ''} |`,
      `| found by | ${p.source} |`,
      `| path | ${path ? md(path) : 'none yet'} |`,
      `| RTT | ${rtt !== undefined ? `${rtt} ms` : '?'}${p.syncRttMs !== undefined ? ` (sync round trip ${Math.round(p.syncRttMs)} ms)` : ''} |`,
      `| bytes in / out | ${formatBytes(p.bytesIn)} / ${formatBytes(p.bytesOut)} |`,
      `| connected | ${p.connectedAt ? new Date(p.connectedAt).toLocaleTimeString() : 'no'} |`,
      ...(connected ? [] : [`| last seen | ${formatAgo(p.lastSeen, now)} |`]),
      ...(p.build ? [`| build | ${p.build.slice(0, 12)}…${otherBuild ? ' (another build of this app)' : ' (this build)'} |`] : []),
      `| connections | ${p.connections} |`,
      ...(p.fault ? [`| fault | ${md(p.fault.label)}: ${p.fault.dropped} frames dropped, ${p.fault.delayed} delayed |`] : []),
      ...(p.nextAttemptAt ? [`| next attempt | in ${Math.max(0, Math.round((p.nextAttemptAt - now) / 1000))} s |`] : []),
      ...(p.lastError ? [`| last error | ${md(p.lastError)} |`] : []),
      ...(p.links?.length ? [`| its links | ${p.links.map((l) => `${md(this.peerLabel(snap, l.id))} (${l.path}${l.rttMs !== undefined ? ` ${Math.round(l.rttMs)} ms` : ''})`).join(', ')} (as the peer says) |`] : []),
      ...(p.presence?.length ? [`| presence | ${p.presence.map((x) => `${x.kind}${Object.keys(x.state).length ? ` ${md(shortJson(x.state))}` : ''}`).join('; ')} (as the peer says) |`] : []),
      `| documents | ${docs.length ? Object.entries(counts).map(([s, n]) => `${n} ${SYNC_LABEL[s as DocSyncState]}`).join(', ') : 'none shared yet'} |`,
    ].join('\n')
    return {
      id: `peer:${p.endpointId}`,
      endpointId: p.endpointId,
      sessionId,
      label: `${shortId(p.endpointId, 10)} ${p.name ?? ''}`.trim(),
      description,
      tooltip,
      contextValue: `tonk.peer.${p.state}`,
      icon: STATE_ICON[p.state] ?? { id: 'circle-outline' },
      children: docs.map((d) => ({
        id: `peer:${p.endpointId}:doc:${d.documentId}`,
        label: d.path ?? shortId(d.documentId, 12),
        description: SYNC_LABEL[d.state],
        tooltip: `${md(d.path ?? '(not in the directory tree)')}\n\n\`automerge:${d.documentId}\`: ${SYNC_LABEL[d.state]} with ${md(p.name ?? shortId(p.endpointId, 10))}`,
        contextValue: `tonk.peerDoc.${d.state}`,
        icon: SYNC_ICON[d.state],
        command: d.path
          ? { command: 'tonk.openDocumentInspector', title: 'Open Document Inspector', arguments: [{ url: `automerge:${d.documentId}`, path: d.path, sessionId }] }
          : undefined,
      })),
    }
  }
}

/**
 * "app open: place porto" when the peer has the app open (a page), "here: place porto" when only its
 * session shares something (`tonk-p2p presence --set`); nothing for a session that shares nothing.
 */
function presenceText(p: PeerSnapshot): string | undefined {
  const all = p.presence ?? []
  const pages = all.filter((x) => x.kind === 'page')
  const shared = [...pages, ...all.filter((x) => x.kind === 'session')].map((x) => Object.entries(x.state)).find((entries) => entries.length > 0)
  if (pages.length === 0 && !shared) return undefined
  const what = shared ? `: ${shared.map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}` : ''
  const lead = pages.length === 0 ? 'here' : pages.length > 1 ? `app open ×${pages.length}` : 'app open'
  return `${lead}${what}`.slice(0, 80)
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? ''
  return text.length > 120 ? `${text.slice(0, 119)}…` : text
}

const rank = (p: PeerSnapshot) => (p.state === 'connected' ? 0 : p.state === 'offline' || p.state === 'disconnected' ? 2 : 1)
