// Registers the webview commands (document inspector, bundle preview, mesh). main.ts calls this once.
// With several sessions a command opens the one its row names, or asks (session-choice.ts).
import * as vscode from 'vscode'
import type { DocHandle } from '@automerge/automerge-repo/slim'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import type { Ctx } from '../ctx'
import { p2pUnavailable } from '../p2p-availability'
import { chooseSession } from '../session-choice'
import { InspectorPanel } from './inspector'
import { MeshPanel } from './mesh'
import { PreviewPanel } from './preview'
import { registerPanelRestore } from './restore'

/** What tonk.openDocumentInspector accepts: a document ref ({url, path}), a Documents view row (its `ref`), a URL. */
type InspectorTarget = { url?: string; path?: string } | { ref: { url?: string; path?: string } } | string | undefined

export function registerWebviews(ctx: Ctx): void {
  ctx.own(vscode.commands.registerCommand('tonk.openDocumentInspector', (target?: InspectorTarget) => openInspector(ctx, target)))
  ctx.own(vscode.commands.registerCommand('tonk.previewBundle', (target?: unknown) => openPreview(ctx, target)))
  ctx.own(
    vscode.commands.registerCommand('tonk.showMesh', async (target?: unknown) => {
      const session = await runningSession(ctx, target, vscode.l10n.t('Show the mesh of which session?'))
      return session ? (MeshPanel.show(ctx, session), true) : false
    }),
  )
  ctx.own({ dispose: () => MeshPanel.panels().forEach((p) => p.dispose()) })
  ctx.own({ dispose: () => PreviewPanel.panels().forEach((p) => p.dispose()) })
  ctx.own({ dispose: () => [...InspectorPanel.panels().values()].forEach((p) => p.dispose()) })
  registerPanelRestore(ctx)
}

/** The session `target` names, the only one, or the picked one; says so when none runs. */
async function runningSession(ctx: Ctx, target: unknown, title: string): Promise<Session | undefined> {
  if (ctx.sessions.list().length === 0 && p2pUnavailable(ctx)) return undefined
  return chooseSession(ctx.sessions, target, title)
}

function normalizeTarget(target: InspectorTarget): { url?: string; path?: string } {
  if (typeof target === 'string') return target.startsWith('/') ? { path: target } : { url: target }
  if (!target || typeof target !== 'object') return {}
  const ref = 'ref' in target && target.ref && typeof target.ref === 'object' ? target.ref : target
  const { url, path } = ref as { url?: unknown; path?: unknown }
  return { url: typeof url === 'string' && url ? url : undefined, path: typeof path === 'string' && path ? path : undefined }
}

/** Opens the inspector; returns the document id shown (tests use it), or undefined when cancelled. */
async function openInspector(ctx: Ctx, target: InspectorTarget): Promise<{ documentId: string } | undefined> {
  const session = await runningSession(ctx, target, vscode.l10n.t('Inspect a document of which session?'))
  if (!session) return undefined
  let { url, path } = normalizeTarget(target)
  try {
    if (!url && !path) {
      const picked = await pickDocument(session)
      if (!picked) return undefined
      ;({ url, path } = picked)
    }
    if (!url) {
      url = await session.resolvePath(path!)
      if (!url) throw new Error(`nothing at ${path}`)
    }
    if (!url.startsWith('automerge:')) url = `automerge:${url}`
    if (!path) path = await session.pathOf(url)
    const handle = await (await session.mirror()).find<unknown>(url as never, { signal: AbortSignal.timeout(15_000) })
    InspectorPanel.show(ctx, session, handle as DocHandle<unknown>, path)
    return { documentId: handle.documentId }
  } catch (err) {
    const message = `Cannot inspect ${path ?? url}: ${(err as Error).message}`
    ctx.log.warn(`inspector: ${message}`)
    void vscode.window.showErrorMessage(message)
    return undefined
  }
}

async function pickDocument(session: Session): Promise<{ url: string; path: string } | undefined> {
  const documents = (await session.snapshot()).documents
  const items = documents.map((d) => ({
    label: d.path,
    description: d.type === 'dir' ? 'directory' : undefined,
    detail: d.url,
    iconPath: new vscode.ThemeIcon(d.type === 'dir' ? 'folder' : 'json'),
    doc: d,
  }))
  const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Open Document Inspector'), placeHolder: vscode.l10n.t('Document to inspect'), matchOnDetail: true })
  return picked ? { url: picked.doc.url, path: picked.doc.path } : undefined
}

async function openPreview(ctx: Ctx, target: unknown): Promise<{ bundleId: string } | undefined> {
  const session = await runningSession(ctx, target, vscode.l10n.t('Preview which bundle?'))
  if (!session) return undefined
  try {
    await PreviewPanel.show(ctx, session)
    return { bundleId: session.bundle.bundleId }
  } catch (err) {
    const message = `Cannot preview ${session.bundle.manifest.name}: ${(err as Error).message}`
    ctx.log.error(`preview: ${message}`)
    void vscode.window.showErrorMessage(message)
    return undefined
  }
}
