// Which running session a command means. A row of the Peers or Documents view names its session
// (`sessionId`); with one session running that is the one; with several, the command asks with a quick
// pick (the active session first) instead of guessing. No session: the user is told how to start one.
import * as vscode from 'vscode'
import type { RemoteSession as Session } from '../core/session/remote/remote-session'
import { shortId } from '../core/util/text'
import type { SessionHost } from './ctx'

/** A command argument that names its session: a tree row, or `{ sessionId }` from a test or another command. */
export interface SessionTarget {
  sessionId?: string
}

/** The session a command argument names: its `sessionId`, or its `ref`'s (a Documents view row). */
export function targetSessionId(target: unknown): string | undefined {
  if (typeof target !== 'object' || target === null) return undefined
  const id = (target as SessionTarget).sessionId ?? ((target as { ref?: SessionTarget }).ref ?? {}).sessionId
  return typeof id === 'string' ? id : undefined
}

/**
 * The session `target` names, the only one, or the one the user picks (`title` asks the question).
 * Undefined when none runs (after saying so) or the pick was cancelled.
 */
export async function chooseSession(sessions: SessionHost, target: unknown, title: string, quiet = false): Promise<Session | undefined> {
  const named = targetSessionId(target)
  if (named) {
    const running = sessions.byId(named)
    if (running) return running.session
  }
  const running = sessions.list().filter((r) => r.session.state === 'running')
  if (running.length === 0) {
    if (!quiet) warnNoSession()
    return undefined
  }
  if (running.length === 1) return running[0]!.session
  const active = sessions.current
  const items = running
    .slice()
    .sort((a, b) => Number(b.session === active) - Number(a.session === active))
    .map((r) => {
      const m = r.bundle.bundle.manifest
      const connected = r.snapshot?.peers.filter((p) => p.state === 'connected').length ?? 0
      return {
        label: `${m.name}@${m.version}`,
        description: r.bundle.candidate.label,
        detail: `${shortId(r.session.endpointId ?? '', 10)} · ${connected} peer${connected === 1 ? '' : 's'}${r.session === active ? ' · active' : ''}`,
        session: r.session,
      }
    })
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Several bundles run a session: which one?') })
  return picked?.session
}

export function warnNoSession(): void {
  void vscode.window.showWarningMessage(vscode.l10n.t('Tonk: no P2P session is running. Start one with "Tonk: Start P2P Session".'))
}
