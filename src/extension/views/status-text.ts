// What the status bar item says for a snapshot (plain, so it is unit-tested without VS Code).
import { shortId } from '../../core/util/text'
import type { SessionSnapshot } from '../../core/session/session'

export function statusText(snap: SessionSnapshot | undefined, starting: boolean): { text: string; tooltip: string } {
  if (starting) return { text: '$(loading~spin) Tonk: starting', tooltip: 'Tonk P2P: the session is starting' }
  if (!snap) return { text: '$(circle-slash) Tonk', tooltip: 'Tonk P2P: no session (click to open the Peers view)' }
  const connected = snap.peers.filter((p) => p.state === 'connected').length
  const name = `${snap.bundle.name}@${snap.bundle.version}`
  if (snap.state !== 'running') return { text: `$(warning) Tonk: ${snap.state}`, tooltip: `Tonk P2P: ${name} is ${snap.state}` }
  if (!snap.online) return { text: '$(debug-disconnect) Tonk: offline', tooltip: `Tonk P2P: ${name} is offline (Go Online to reconnect)` }
  const peers = `${connected} peer${connected === 1 ? '' : 's'}`
  return {
    text: `$(broadcast) Tonk: ${peers}`,
    tooltip: `Tonk P2P: ${name} running as ${shortId(snap.endpointId ?? '', 10)} (${snap.peerName}), ${peers} connected, ${snap.documents.length} documents`,
  }
}

/** Several sessions: "Tonk: 2 sessions · 5 peers", each bundle on a line of the tooltip. */
export function statusTextAll(snaps: SessionSnapshot[], starting: boolean): { text: string; tooltip: string } {
  if (snaps.length <= 1 || starting) return statusText(snaps[0], starting)
  const connected = (s: SessionSnapshot) => s.peers.filter((p) => p.state === 'connected').length
  const total = snaps.reduce((n, s) => n + connected(s), 0)
  const offline = snaps.every((s) => !s.online)
  const lines = snaps.map((s) => `${s.bundle.name}@${s.bundle.version}: ${s.state !== 'running' ? s.state : !s.online ? 'offline' : `${connected(s)} peer${connected(s) === 1 ? '' : 's'}`}`)
  return {
    text: `${offline ? '$(debug-disconnect)' : '$(broadcast)'} Tonk: ${snaps.length} sessions · ${offline ? 'offline' : `${total} peer${total === 1 ? '' : 's'}`}`,
    tooltip: `Tonk P2P: ${snaps.length} sessions\n${lines.join('\n')}`,
  }
}
