// Panels that come back after a window reload (registerWebviewPanelSerializer). The P2P session does
// not survive the reload, and none starts by itself (offline means no packet leaves until the user
// says so): the restored panel says what it showed and offers Start P2P Session; when a session starts
// whose app holds that document (inspector) or is that app (preview), the panel shows it again, in
// place. A panel whose state is missing or malformed (the page never saved one) just closes.
import * as vscode from 'vscode'
import type { DocHandle } from '@automerge/automerge-repo/slim'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import type { InspectorPanelState } from '../../protocol/inspector'
import type { PreviewPanelState } from '../../protocol/preview'
import type { Ctx } from '../ctx'
import { escapeHtml } from './escape'
import { INSPECTOR_VIEW_TYPE, InspectorPanel } from './inspector'
import { PREVIEW_VIEW_TYPE, PreviewPanel } from './preview'

const DOC_ID = /^[1-9A-HJ-NP-Za-km-z]{20,64}$/

interface Waiting {
  panel: vscode.WebviewPanel
  /** Shows the panel's content in `session`; false when this session does not have it. */
  revive(session: Session): Promise<boolean>
}

function inspectorState(state: unknown): InspectorPanelState | undefined {
  const s = state as Partial<InspectorPanelState> | undefined
  if (!s || typeof s.documentId !== 'string' || !DOC_ID.test(s.documentId)) return undefined
  return { documentId: s.documentId, ...(typeof s.path === 'string' && s.path.length <= 4096 && { path: s.path }) }
}

function previewState(state: unknown): PreviewPanelState | undefined {
  const s = state as Partial<PreviewPanelState> | undefined
  return s && typeof s.app === 'string' && s.app.length <= 214 ? { app: s.app } : undefined
}

/** The restored panel until a session can show it: what it was, and a way to start a session. */
function waitingHtml(what: string): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'"
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
<style>body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:1.5em;line-height:1.5}a{color:var(--vscode-textLink-foreground)}</style>
</head><body>
<h2>${escapeHtml(what)}</h2>
<p class="waiting">The P2P session ended when the window reloaded. It shows here again once a session of its app runs.</p>
<p><a href="command:tonk.startSession">Start P2P Session</a></p>
</body></html>`
}

export function registerPanelRestore(ctx: Ctx): void {
  const waiting = new Set<Waiting>()
  const wait = (entry: Waiting, what: string) => {
    entry.panel.webview.options = { enableScripts: false, enableCommandUris: ['tonk.startSession'] }
    entry.panel.webview.html = waitingHtml(what)
    waiting.add(entry)
    entry.panel.onDidDispose(() => waiting.delete(entry))
    void (async () => {
      for (const running of ctx.sessions.list()) if (await tryRevive(entry, running.session)) break
    })()
  }
  const tryRevive = async (entry: Waiting, session: Session): Promise<boolean> => {
    if (!waiting.has(entry)) return true
    try {
      if (await entry.revive(session)) {
        waiting.delete(entry)
        return true
      }
    } catch (err) {
      ctx.log.warn(`restoring a panel: ${(err as Error).message}`)
    }
    return false
  }
  ctx.own(
    ctx.sessions.onDidStart((session) => {
      for (const entry of [...waiting]) void tryRevive(entry, session)
    }),
  )

  /** One serializer: a panel whose saved state parses waits for a session that `revive` accepts. */
  const restore = <S>(viewType: string, parse: (raw: unknown) => S | undefined, title: (state: S) => string, revive: (state: S, session: Session, panel: vscode.WebviewPanel) => Promise<boolean>) =>
    ctx.own(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        async deserializeWebviewPanel(panel, raw) {
          const state = parse(raw)
          if (!state) return panel.dispose()
          wait({ panel, revive: (session) => revive(state, session, panel) }, title(state))
        },
      }),
    )

  restore(INSPECTOR_VIEW_TYPE, inspectorState, (s) => `Inspect ${s.path ?? s.documentId}`, async (state, session, panel) => {
    // Only a document of this session's app: pathOf knows every document of its tree.
    const url = `automerge:${state.documentId}`
    const path = await session.pathOf(url)
    if (path === undefined) return false
    const handle = await (await session.mirror()).find<unknown>(url as never, { signal: AbortSignal.timeout(15_000) })
    InspectorPanel.show(ctx, session, handle as DocHandle<unknown>, path, panel)
    ctx.log.info(`inspector: restored ${path} after the window reload`)
    return true
  })
  restore(PREVIEW_VIEW_TYPE, previewState, (s) => `Preview ${s.app}`, async (state, session, panel) => {
    if (session.bundle.manifest.name !== state.app) return false
    await PreviewPanel.show(ctx, session, panel)
    ctx.log.info(`preview: restored ${state.app} after the window reload`)
    return true
  })
}
