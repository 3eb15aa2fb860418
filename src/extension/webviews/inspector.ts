// The live document inspector: one webview panel per document. The host owns the document (the
// session's DocHandle); the page only renders what it is sent and asks for edits, which become
// Automerge changes here and sync to every peer like any other change.
import * as vscode from 'vscode'
import type { DocHandle, DocumentId } from '@automerge/automerge-repo/slim'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import type { DocView, HostToInspector, InspectorEdit, InspectorState, InspectorToHost, PeerSyncView } from '../../protocol/inspector'
import type { Ctx } from '../ctx'
import { parseInspectorMessage } from './guards'
import { escapeHtml, mediaDir, webviewOut, webviewPage } from './html'
import { toolColumn } from './layout'
import { WebviewHost } from './webview-host'
import { answerTimeTravelNamed } from './inspector-history'
import { applyEdit, describeEdit, docHistory, EditError, toInspectorValue } from './inspector-model'

export const INSPECTOR_VIEW_TYPE = 'tonk.inspector'
/** Bursts of changes (a peer catching up) become one update per this many ms. */
const UPDATE_MS = 100

export class InspectorPanel extends WebviewHost<InspectorToHost, HostToInspector> {
  private static readonly open = new Map<string, InspectorPanel>()
  private docTimer?: NodeJS.Timeout
  private peersTimer?: NodeJS.Timeout
  private ready = false

  /** Panels currently open, by document id (tests and the scenario look here). */
  static panels(): ReadonlyMap<string, InspectorPanel> {
    return InspectorPanel.open
  }

  /**
   * Shows the inspector of `handle` (revealing the existing panel for that document). `restored`: a
   * panel VS Code brought back after a window reload (restore.ts), shown in place.
   */
  static show(ctx: Ctx, session: Session, handle: DocHandle<unknown>, path: string | undefined, restored?: vscode.WebviewPanel): InspectorPanel {
    const existing = InspectorPanel.open.get(handle.documentId)
    if (existing && existing.session === session && !existing.ended) {
      restored?.dispose()
      existing.panel.reveal()
      return existing
    }
    existing?.panel.dispose()
    const title = `Inspect ${path ?? handle.documentId.slice(0, 8)}`
    const options = {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [webviewOut(ctx.extension.extensionUri), mediaDir(ctx.extension.extensionUri)],
    }
    let panel = restored
    if (panel) {
      panel.title = title
      panel.webview.options = options
    } else panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, title, toolColumn(), options)
    const inspector = new InspectorPanel(ctx, session, handle, path, panel)
    InspectorPanel.open.set(handle.documentId, inspector)
    return inspector
  }

  private constructor(
    ctx: Ctx,
    session: Session,
    readonly handle: DocHandle<unknown>,
    readonly path: string | undefined,
    panel: vscode.WebviewPanel,
  ) {
    super(ctx, session, panel, 'inspector', parseInspectorMessage)
    panel.webview.html = this.html()
    this.listen(handle, 'change', () => this.schedule('doc'))
    this.listen(handle, 'remote-heads', () => this.schedule('peers'))
    this.listen(session, 'changed', () => this.schedule('peers'))
  }

  get documentId(): DocumentId {
    return this.handle.documentId
  }

  /** Whether the page has said `ready` and received its state. */
  get isReady(): boolean {
    return this.ready
  }

  protected override onDispose(): void {
    if (InspectorPanel.open.get(this.handle.documentId) === this) InspectorPanel.open.delete(this.handle.documentId)
    this.clearTimers()
  }

  protected override onSessionEnded(): void {
    this.clearTimers()
  }

  private clearTimers(): void {
    clearTimeout(this.docTimer)
    clearTimeout(this.peersTimer)
  }

  private schedule(what: 'doc' | 'peers'): void {
    if (!this.ready || this.ended) return
    const key = what === 'doc' ? 'docTimer' : 'peersTimer'
    if (this[key]) return
    this[key] = setTimeout(() => {
      this[key] = undefined
      if (what === 'doc') this.post({ type: 'doc', doc: this.docView() })
      else void this.peerViews().then((peers) => this.post({ type: 'peers', peers }))
    }, UPDATE_MS)
  }

  private docView(): DocView {
    if (!this.handle.isReady()) return { value: undefined, heads: [], history: [], totalChanges: 0 }
    return { value: toInspectorValue(this.handle.doc()), heads: this.handle.heads() ?? [], ...docHistory(this.handle) }
  }

  /** This one document against each peer: keyed queries, no session snapshot (no tree walk, no other documents). */
  private async peerViews(): Promise<PeerSyncView[]> {
    // The engine's Repo knows what each peer has (this panel's handle is the host's mirror of it).
    return this.session.docPeers(this.handle.documentId).catch(() => [])
  }

  /** A directory document is the tree's own record (names → document pointers): not edited by hand. */
  private directoryReason(): string | undefined {
    const doc = this.handle.isReady() ? (this.handle.doc() as { type?: unknown; children?: unknown } | undefined) : undefined
    // Tonk's shapes keep `type` as a scalar string (an ImmutableString here); the root is the PathIndex.
    const type = String(doc?.type)
    const isDirectory = (type === 'dir' || type === 'directory' || type === 'path_index') && typeof doc?.children === 'object' && doc.children !== null
    return isDirectory
      ? 'a directory document: its entries point at the documents of the tree, and a wrong pointer or type loses them. Rename, add or remove documents with tonk-p2p doc (or the app) instead.'
      : undefined
  }

  private async sendState(): Promise<void> {
    const state: InspectorState = {
      url: this.handle.url,
      documentId: this.handle.documentId,
      path: this.path,
      ...(this.directoryReason() && { readOnly: this.directoryReason() }),
      ...this.docView(),
      peers: this.ended ? [] : await this.peerViews().catch(() => []),
    }
    this.post({ type: 'state', state })
    if (this.ended) this.post({ type: 'session-ended' })
  }

  protected receive(message: InspectorToHost): void {
    if (message.type === 'ready') {
      this.ready = true
      void this.sendState()
      return
    }
    if (message.type === 'history' || message.type === 'value-at' || message.type === 'diff' || message.type === 'restore') {
      // Looking back works after the session stopped too; restoring is an edit, and needs it running.
      if (message.type === 'restore' && this.ended) return this.post({ type: 'result', requestId: message.requestId, ok: false, error: 'the session has stopped: the document is read-only' })
      // Names need the running session (it asks peers); after it stopped the page shows actors alone.
      const names = this.ended ? undefined : (actors: string[]) => this.session.actorNames(actors)
      void answerTimeTravelNamed(this.handle, message, this.directoryReason(), names).then((answer) => this.post(answer))
      return
    }
    this.edit(message)
  }

  private edit(edit: InspectorEdit): void {
    const fail = (error: string) => this.post({ type: 'result', requestId: edit.requestId, ok: false, error })
    if (this.ended) return fail('the session has stopped: the document is read-only')
    const directory = this.directoryReason()
    if (directory) return fail(directory)
    if (!this.handle.isReady()) return fail('the document is not available')
    try {
      this.handle.change((draft) => applyEdit(draft, edit), { message: describeEdit(edit) })
    } catch (err) {
      if (!(err instanceof EditError)) this.ctx.log.error(`inspector: edit failed: ${(err as Error).stack ?? err}`)
      return fail((err as Error).message)
    }
    this.ctx.log.info(`inspector: ${describeEdit(edit)} in ${this.handle.documentId}`)
    this.post({ type: 'result', requestId: edit.requestId, ok: true })
  }

  private html(): string {
    return webviewPage(this.panel.webview, this.ctx.extension.extensionUri, {
      name: 'inspector',
      title: this.panel.title,
      extraCsp: [`img-src ${this.panel.webview.cspSource} data:`],
      body: `<div id="app" data-document-id="${escapeHtml(this.handle.documentId)}"><p class="loading">Loading ${escapeHtml(this.path ?? this.handle.url)}…</p></div>`,
    })
  }
}
