// The Mesh view: the session's peers as a graph (this session, its links with path, RTT and faults,
// and the links its peers report), live. One panel per window; it follows the session's batched
// `changed` event and redraws at most every UPDATE_MS, sending only the graph (no documents).
import * as vscode from 'vscode'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import type { HostToMesh, MeshToHost } from '../../protocol/mesh'
import type { Ctx } from '../ctx'
import { meshGraph } from '../views/mesh-model'
import { parseMeshMessage } from './guards'
import { escapeHtml, webviewOut, webviewPage } from './html'
import { toolColumn } from './layout'
import { WebviewHost } from './webview-host'

export const MESH_VIEW_TYPE = 'tonk.mesh'
const UPDATE_MS = 250

export class MeshPanel extends WebviewHost<MeshToHost, HostToMesh> {
  /** One mesh view per session (bundle); the last opened is `panel`. */
  private static readonly open = new Map<Session, MeshPanel>()
  private static current: MeshPanel | undefined
  private timer?: NodeJS.Timeout
  private ready = false
  private lastSent = ''

  /** The open mesh view, if any (tests read it). */
  static get panel(): MeshPanel | undefined {
    return MeshPanel.current
  }

  /** Every open mesh view (to close them with the extension). */
  static panels(): MeshPanel[] {
    return [...MeshPanel.open.values()]
  }

  static show(ctx: Ctx, session: Session): MeshPanel {
    const existing = MeshPanel.open.get(session)
    if (existing && !existing.ended) {
      existing.panel.reveal()
      MeshPanel.current = existing
      return existing
    }
    // Views of sessions that ended (a restart) go; other bundles keep theirs.
    for (const panel of MeshPanel.open.values()) if (panel.ended) panel.dispose()
    const panel = vscode.window.createWebviewPanel(MESH_VIEW_TYPE, vscode.l10n.t('Mesh {0}', session.bundle.manifest.name), toolColumn(), {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [webviewOut(ctx.extension.extensionUri)],
    })
    MeshPanel.current = new MeshPanel(ctx, session, panel)
    MeshPanel.open.set(session, MeshPanel.current)
    return MeshPanel.current
  }

  private constructor(ctx: Ctx, session: Session, panel: vscode.WebviewPanel) {
    super(ctx, session, panel, 'mesh', parseMeshMessage)
    panel.webview.html = this.html()
    this.listen(session, 'changed', () => this.schedule())
  }

  /** Whether the page has said `ready` (and got the graph). */
  get isReady(): boolean {
    return this.ready
  }

  protected receive(message: MeshToHost): void {
    if (message.type === 'ready') {
      this.ready = true
      this.lastSent = ''
      void this.send()
      if (this.ended) this.post({ type: 'session-ended' })
      return
    }
    // Click or Enter on a node: its row in the Peers view.
    void vscode.commands.executeCommand('tonk.revealPeer', message.endpointId, this.ctx.sessions.of(this.session)?.id)
  }

  protected override onSessionEnded(): void {
    clearTimeout(this.timer)
  }

  protected override onDispose(): void {
    clearTimeout(this.timer)
    if (MeshPanel.current === this) MeshPanel.current = undefined
    if (MeshPanel.open.get(this.session) === this) MeshPanel.open.delete(this.session)
  }

  private schedule(): void {
    if (!this.ready || this.ended || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.send()
    }, UPDATE_MS)
  }

  private async send(): Promise<void> {
    const s = this.session
    const peers = await s.peerList().catch(() => undefined)
    if (!peers || this.ended) return
    const graph = meshGraph({ endpointId: s.endpointId, peerName: s.peerName, bundleId: s.bundle.bundleId, peers })
    const text = JSON.stringify(graph)
    if (text === this.lastSent) return // nothing moved: the page keeps still
    this.lastSent = text
    this.post({ type: 'mesh', graph })
  }

  private html(): string {
    return webviewPage(this.panel.webview, this.ctx.extension.extensionUri, {
      name: 'mesh',
      title: this.panel.title,
      body: `<div id="app"><p class="loading">${escapeHtml(vscode.l10n.t('Loading the mesh…'))}</p></div>`,
    })
  }
}
