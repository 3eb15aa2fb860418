// The session commands: start/stop, ticket, connect/disconnect, offline/online, local peers, trace.
// Each returns something useful to a caller (tests run them through executeCommand) and reports
// failures to the user itself; commands that need a session say so when none runs, and ask which one
// when several bundles run (session-choice.ts). Go Offline / Go Online act on every session: offline
// means no packet leaves this window, whichever bundle would send it.
import * as vscode from 'vscode'
import { shortId } from '../../core/util/text'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import { pickBundle } from '../bundles'
import type { Ctx } from '../ctx'
import { loadEngine } from '../engine-loader'
import { p2pUnavailable } from '../p2p-availability'
import { MAX_LOCAL_PEERS, type LocalPeer, type LocalPeers } from '../local-peers'
import { chooseSession, targetSessionId, warnNoSession } from '../session-choice'
import type { SessionManager } from '../session-manager'
import type { TraceDocuments } from '../trace'
import type { SessionStatusBar } from '../views/status-bar'

export interface SessionCommandDeps {
  ctx: Ctx
  sessions: SessionManager
  localPeers: LocalPeers
  trace: TraceDocuments
  status: SessionStatusBar
}

function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string }
  return `${e.code && !e.message?.includes(e.code) ? `${e.code}: ` : ''}${e.message ?? String(err)}`
}

function showError(ctx: Ctx, what: string, err: unknown): void {
  ctx.log.error(`${what}: ${(err as Error).stack ?? err}`)
  void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: {0}: {1}', what, errorText(err)), vscode.l10n.t('Show Log')).then((a) => {
    if (a) ctx.log.channel.show(true)
  })
}


export function sessionCommands(d: SessionCommandDeps): Record<string, (...args: any[]) => unknown> {
  const { ctx, sessions, localPeers, trace, status } = d
  return {
    /** Argument: a bundle folder, its tonk.json or a .zip (from the explorer or a test); else a picker. */
    'tonk.startSession': async (target?: vscode.Uri) => {
      if (!vscode.workspace.isTrusted) {
        ctx.log.warn('start session refused: the workspace is not trusted (Restricted Mode)')
        const manage = vscode.l10n.t('Manage Workspace Trust')
        void vscode.window
          .showWarningMessage(
            vscode.l10n.t('Tonk: P2P sessions need a trusted workspace. In Restricted Mode a session would share this folder\'s bundle with peers and dial addresses its manifest names; Validate Manifest and Pack Bundle still work.'),
            manage,
          )
          .then((a) => {
            if (a === manage) void vscode.commands.executeCommand('workbench.trust.manage')
          })
        return undefined
      }
      if (sessions.list().length === 0 && p2pUnavailable(ctx)) return undefined
      const bundle = await pickBundle(target instanceof vscode.Uri ? target : undefined, 'Start a P2P session for which bundle?')
      if (!bundle) return undefined
      status.setStarting(true)
      try {
        const session = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Tonk: starting a P2P session for {0}', bundle.label) },
          () => sessions.start(bundle),
        )
        const m = session.bundle.manifest
        void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: {0}@{1} is running as {2}.', m.name, m.version, shortId(session.endpointId ?? '', 10)), vscode.l10n.t('Copy My Ticket')).then((a) => {
          if (a) void vscode.commands.executeCommand('tonk.copyTicket', { sessionId: sessions.of(session)?.id })
        })
        return session.endpointId
      } catch (err) {
        showError(ctx, `cannot start a session for ${bundle.label}`, err)
        return undefined
      } finally {
        status.setStarting(false)
      }
    },

    /** Argument: a bundle row of the views or `{ sessionId }`; with several sessions and none named, a picker. */
    'tonk.stopSession': async (target?: unknown) => {
      if (sessions.list().length === 0) return false
      const s = await chooseSession(sessions, target, vscode.l10n.t('Stop which session?'), true)
      if (!s) return false
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Tonk: stopping the session') }, () => sessions.stop(s))
      return true
    },

    'tonk.copyTicket': async (target?: unknown) => {
      const s = await chooseSession(sessions, target, vscode.l10n.t('Copy the ticket of which session?'))
      const ticket = s?.ticket
      if (!ticket) return undefined
      await vscode.env.clipboard.writeText(ticket)
      void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: ticket of {0} copied (give it to a peer: Connect to Peer…).', shortId(s.endpointId ?? '', 10)))
      return ticket
    },

    /** Arguments: a ticket (tests, join links), else an input box that checks it as you type; the session. */
    'tonk.connectPeer': async (given?: unknown, target?: unknown) => {
      if (sessions.list().length === 0 && p2pUnavailable(ctx)) return undefined
      const s = await chooseSession(sessions, target ?? given, vscode.l10n.t('Connect a peer to which session?'))
      if (!s) return undefined
      const { parseDialTarget } = loadEngine()
      const problem = (value: string): string | undefined => {
        const text = value.trim()
        if (!text) return 'Paste a ticket (endpoint…) or <endpoint id>@<ip:port>'
        try {
          const addr = parseDialTarget(text)
          if (addr.id().toString() === s.endpointId) return 'That is this session’s own ticket'
        } catch (err) {
          return (err as Error).message
        }
        return undefined
      }
      const ticket =
        typeof given === 'string'
          ? given
          : await vscode.window.showInputBox({
              title: vscode.l10n.t('Connect to Peer'),
              prompt: vscode.l10n.t('The ticket of a peer of the same bundle (its "Copy My Ticket" or `tonk-p2p ticket`)'),
              placeHolder: vscode.l10n.t('endpoint…'),
              ignoreFocusOut: true,
              validateInput: problem,
            })
      if (ticket === undefined) return undefined
      const bad = problem(ticket)
      if (bad) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: {0}', bad))
        return undefined
      }
      try {
        const id = await s.dial(ticket.trim(), 'ticket')
        ctx.log.info(`dialing ${id}`)
        return id
      } catch (err) {
        showError(ctx, 'cannot connect', err)
        return undefined
      }
    },

    /** Argument: a Peers view row (context menu) or an endpoint id; else a picker of connected peers. */
    'tonk.disconnectPeer': async (target?: { endpointId?: string; sessionId?: string } | string) => {
      const s = await chooseSession(sessions, target, vscode.l10n.t('Disconnect a peer of which session?'))
      if (!s) return undefined
      let id = typeof target === 'string' ? target : target?.endpointId
      if (!id) {
        const peers = (await s.snapshot()).peers.filter((p) => p.state === 'connected')
        if (peers.length === 0) {
          void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: no peer is connected.'))
          return undefined
        }
        const picked = await vscode.window.showQuickPick(
          peers.map((p) => ({ label: `${shortId(p.endpointId, 10)} ${p.name ?? ''}`, description: p.path?.remoteAddr, id: p.endpointId })),
          { title: vscode.l10n.t('Disconnect which peer?') },
        )
        id = picked?.id
      }
      if (!id) return undefined
      await s.disconnectPeer(id)
      ctx.log.info(`disconnected ${id}: kept out until Reconnect Peer`)
      return id
    },

    /** Argument: a Peers view row or an endpoint id; else a picker of peers this session disconnected. */
    'tonk.reconnectPeer': async (target?: { endpointId?: string; sessionId?: string } | string) => {
      const s = await chooseSession(sessions, target, vscode.l10n.t('Reconnect a peer of which session?'))
      if (!s) return undefined
      let id = typeof target === 'string' ? target : target?.endpointId
      if (!id) {
        const held = (await s.snapshot()).peers.filter((p) => p.state === 'disconnected')
        if (held.length === 0) {
          void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: no peer is disconnected.'))
          return undefined
        }
        const picked = await vscode.window.showQuickPick(
          held.map((p) => ({ label: `${shortId(p.endpointId, 10)} ${p.name ?? ''}`, id: p.endpointId })),
          { title: vscode.l10n.t('Reconnect which peer?') },
        )
        id = picked?.id
      }
      if (!id) return undefined
      const dialed = await s.reconnectPeer(id)
      ctx.log.info(`reconnecting ${id}${dialed ? '' : ': no address known, waiting for it to dial this session'}`)
      return id
    },

    'tonk.goOffline': async () => {
      const all = sessions.list().map((r) => r.session)
      if (all.length === 0) return (warnNoSession(), false)
      await Promise.all(all.map((s) => s.goOffline()))
      sessions.refresh()
      return true
    },

    'tonk.goOnline': async () => {
      const all = sessions.list().map((r) => r.session)
      if (all.length === 0) return (warnNoSession(), false)
      await Promise.all(all.map((s) => s.goOnline()))
      sessions.refresh()
      return true
    },

    /** Arguments: how many (tests), else an input box; the session. Resolves when every peer is up. */
    'tonk.startLocalPeers': async (count?: number, target?: unknown): Promise<LocalPeer[] | undefined> => {
      if (sessions.list().length === 0 && p2pUnavailable(ctx)) return undefined
      // From a bundle's row the first argument is the row: it names the session, the count is asked.
      if (typeof count !== 'number') [target, count] = [target ?? count, undefined]
      const s = await chooseSession(sessions, target, vscode.l10n.t('Start local peers of which session?'))
      const running = s && sessions.of(s)?.bundle
      if (!s || !running || !s.ticket) return undefined
      let n = count
      if (n === undefined) {
        const answer = await vscode.window.showInputBox({
          title: vscode.l10n.t('Start Local Peers'),
          prompt: vscode.l10n.t('How many headless peers of {0} to start on this machine (each with its own identity and storage)?', running.bundle.manifest.name),
          value: '2',
          validateInput: (v) => (/^\d+$/.test(v.trim()) && +v >= 1 && +v <= MAX_LOCAL_PEERS ? undefined : `A number from 1 to ${MAX_LOCAL_PEERS}`),
        })
        if (answer === undefined) return undefined
        n = Number(answer.trim())
      }
      try {
        const bundleZip = await running.zipPath()
        return await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Tonk: starting {0} local peer(s)', n) },
          async (progress) => {
            let ready = 0
            const peers = await localPeers.start({ bundleZip, sessionDataDir: s.options.dataDir, ticket: s.ticket!, count: n! }, (p) =>
              progress.report({ message: vscode.l10n.t('{0}/{1} ready ({2})', ++ready, n, p.name), increment: 100 / n! }),
            )
            return peers
          },
        )
      } catch (err) {
        showError(ctx, 'local peers', err)
        return undefined
      }
    },

    /** Argument: a session (`{ sessionId }`); else every local peer of every session. */
    'tonk.stopLocalPeers': async (target?: unknown) => {
      const id = targetSessionId(target)
      const running = id ? sessions.byId(id) : undefined
      await localPeers.stop(running?.session.options.dataDir)
      return true
    },

    /** Argument: where to write (tests); else a save dialog. Writes the session's VFS as a .tonk. */
    'tonk.exportTonk': async (output?: vscode.Uri, session?: unknown): Promise<vscode.Uri | undefined> => {
      // From a view's menu the first argument is the row (it names the session), from a test a Uri.
      const s = await chooseSession(sessions, session ?? output, vscode.l10n.t('Export which session as .tonk?'))
      const running = s && sessions.of(s)?.bundle
      if (!s || !running) return undefined
      let target = output instanceof vscode.Uri ? output : undefined
      if (!target) {
        const from = running.candidate.uri
        const folder = running.candidate.kind === 'folder' ? from : vscode.Uri.joinPath(from, '..')
        // Never offer to overwrite the .tonk the session serves: local peers serve that very file.
        const name = running.candidate.kind === 'tonk' ? `${running.bundle.manifest.name}-export.tonk` : `${running.bundle.manifest.name}.tonk`
        target = await vscode.window.showSaveDialog({
          title: vscode.l10n.t('Export .tonk'),
          defaultUri: vscode.Uri.joinPath(folder, name),
          filters: { 'Tonk file': ['tonk'] },
          saveLabel: vscode.l10n.t('Export'),
        })
        if (!target) return undefined
      }
      try {
        const r = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Exporting {0}', running.bundle.manifest.name) },
          () => s.exportTonk(),
        )
        await vscode.workspace.fs.writeFile(target, r.bytes)
        ctx.log.info(`export: ${r.documents} document(s), root ${r.rootId}, ${r.bytes.length} bytes → ${target.fsPath}`)
        void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: exported {0} document(s) to {1}.', r.documents, vscode.workspace.asRelativePath(target)))
        return target
      } catch (err) {
        showError(ctx, 'export .tonk', err)
        return undefined
      }
    },

    'tonk.showSyncTrace': () => trace.show(),

    'tonk.showLog': () => ctx.log.channel.show(),
  }
}
