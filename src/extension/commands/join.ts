// "Copy Join Link" and the handler of the links it makes (see ../join-link.ts). Opening a link never
// dials by itself: a modal says whom it would contact and what that reveals, as for a bundle's own
// bootstrap peers (bundle-hints.ts).
import * as vscode from 'vscode'
import { shortId } from '../../core/util/text'
import type { Ctx } from '../ctx'
import { loadEngine } from '../engine-loader'
import { joinQuery, parseJoinLink, JOIN_PATH } from '../join-link'
import { p2pUnavailable } from '../p2p-availability'
import { chooseSession } from '../session-choice'
import type { SessionManager } from '../session-manager'

export function joinLinkFor(ctx: Ctx, ticket: string, app?: string): vscode.Uri {
  return vscode.Uri.from({ scheme: vscode.env.uriScheme, authority: ctx.extension.extension.id, path: JOIN_PATH, query: joinQuery(ticket, app) })
}

export function joinCommands(ctx: Ctx, sessions: SessionManager): Record<string, (...args: any[]) => unknown> {
  return {
    'tonk.copyJoinLink': async (target?: unknown) => {
      const s = await chooseSession(sessions, target, vscode.l10n.t('Copy the join link of which session?'))
      if (!s?.ticket) return undefined
      const link = joinLinkFor(ctx, s.ticket, s.bundle.manifest.name).toString(true)
      await vscode.env.clipboard.writeText(link)
      void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: join link of {0} copied. Whoever opens it in VS Code with this app is asked before connecting.', shortId(s.endpointId ?? '', 10)))
      return link
    },
    // Where the OS does not route vscode:// links to this window (a browser VS Code, a remote, a
    // second installation), a person pastes the link here; the same checks and the same question follow.
    'tonk.joinFromLink': async (text?: string) => {
      const example = `${vscode.env.uriScheme}://${ctx.extension.extension.id}${JOIN_PATH}?ticket=…` // a URL, not words to translate
      const link =
        typeof text === 'string'
          ? text
          : await vscode.window.showInputBox({
              title: vscode.l10n.t('Tonk: Join from Link'),
              prompt: vscode.l10n.t('Paste a join link someone copied with "Copy Join Link". You are asked before anything connects.'),
              placeHolder: example,
              ignoreFocusOut: true,
              validateInput: (value) => joinLinkProblem(value, ctx.extension.extension.id),
            })
      if (!link) return undefined
      const problem = joinLinkProblem(link, ctx.extension.extension.id)
      if (problem) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: cannot use this link: {0}.', problem))
        return undefined
      }
      return handleJoinUri(ctx, sessions, vscode.Uri.parse(link.trim()))
    },
  }
}

/** Why a pasted text is not a join link of this extension (a sentence), or undefined. */
function joinLinkProblem(text: string, extensionId: string): string | undefined {
  const value = text.trim()
  if (!value) return 'paste the whole link'
  let uri: vscode.Uri
  try {
    uri = vscode.Uri.parse(value, true)
  } catch {
    return 'it is not a link'
  }
  if (uri.authority.toLowerCase() !== extensionId.toLowerCase()) {
    return /^[a-z0-9]+$/i.test(value) && value.length > 40 ? 'this looks like a bare ticket: use "Tonk: Connect to Peer…" for it' : `it is not a Tonk P2P join link (${uri.scheme}://${uri.authority.slice(0, 40)}…)`
  }
  try {
    parseJoinLink(uri.path, uri.query)
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

/** Handles `vscode://tonk.tonk-p2p/join?…`. Returns the dialed endpoint id, or undefined. */
export async function handleJoinUri(ctx: Ctx, sessions: SessionManager, uri: vscode.Uri): Promise<string | undefined> {
  let request
  try {
    request = parseJoinLink(uri.path, uri.query)
  } catch (err) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: cannot use this link: {0}.', (err as Error).message))
    return undefined
  }
  if (p2pUnavailable(ctx)) return undefined
  const engine = loadEngine()
  const [hint] = engine.bootstrapHints([request.ticket])
  if (!hint?.endpointId) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: cannot use this link: its ticket does not parse. Ask for a new link ("Copy Join Link").'))
    return undefined
  }
  if (sessions.list().length === 0) {
    const start = await vscode.window.showInformationMessage(
      request.app
        ? vscode.l10n.t('Tonk: a join link for {0} needs a running P2P session. Start one?', request.app)
        : vscode.l10n.t('Tonk: a join link needs a running P2P session. Start one?'),
      vscode.l10n.t('Start P2P Session'),
    )
    if (!start) return undefined
    await vscode.commands.executeCommand('tonk.startSession')
    if (!sessions.current) return undefined
  }
  // The session of the app the link names, else the only one, else the user's pick.
  const sameApp = sessions.list().find((r) => request.app && r.bundle.bundle.manifest.name === request.app)
  const s = sameApp?.session ?? (await chooseSession(sessions, undefined, vscode.l10n.t('Join with which session?')))
  if (!s) return undefined
  const sessionId = sessions.of(s)?.id
  if (hint.endpointId === s.endpointId) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: this join link is your own session’s.'))
    return undefined
  }
  const name = s.bundle.manifest.name
  const answer = await vscode.window.showWarningMessage(
    vscode.l10n.t('Connect to a peer from a join link?'),
    {
      modal: true,
      detail:
        (request.app ? vscode.l10n.t('The link (for "{0}") names {1}.', request.app, engine.describeHint(hint)) : vscode.l10n.t('The link names {0}.', engine.describeHint(hint))) +
        ' ' +
        vscode.l10n.t('Connecting tells that address your IP address, and the peer learns that you run {0} only if it holds the same app. Open links from people you know.', name),
    },
    vscode.l10n.t('Connect'),
  )
  if (answer !== vscode.l10n.t('Connect')) return undefined
  ctx.log.info(`join link: dialing ${hint.endpointId}`)
  return vscode.commands.executeCommand<string | undefined>('tonk.connectPeer', request.ticket, { sessionId })
}
