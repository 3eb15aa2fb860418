// The bundle preview: the bundle's entry page in a webview, with the shim of webview-ui/preview
// injected before the app's scripts. The shim runs an automerge-repo Repo in the page whose only network
// adapter talks (postMessage) to an adapter of the same kind added to the session's Repo here, so the
// app syncs with every peer of the session. Design and security notes: docs/injected-api.md.
import { randomBytes } from 'node:crypto'
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import type { MessagePort } from 'node:worker_threads'
import * as vscode from 'vscode'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import type { AdapterFrame, HostToPreview, PreviewInit, PreviewToHost } from '../../protocol/preview'
import type { Ctx } from '../ctx'
import { loadEngine } from '../engine-loader'
import { parsePreviewMessage } from './guards'
import { nonce, webviewOut } from './html'
import { toolColumn } from './layout'
import { rewriteEntryHtml } from './preview-html'
import { WebviewHost } from './webview-host'

export const PREVIEW_VIEW_TYPE = 'tonk.preview'
const COMPLETE_MARKER = '.tonk-preview-complete'
/** After a change of a document, how long the preview waits before comparing the app's files. */
const SITE_CHECK_MS = 300
const MIN_RELOAD_GAP_MS = 1000

/**
 * The verified bundle's files under `<dataDir>/preview/<bundleId>/`, extracted once: a bundle id names
 * exactly one content, so an existing complete folder is reused. Extracted into a temp folder and
 * renamed, so a crash never leaves a half-written folder that looks complete.
 */
export async function extractForPreview(session: Session): Promise<string> {
  const root = join(session.options.dataDir, 'preview')
  const dir = join(root, session.bundle.bundleId)
  if (await exists(join(dir, COMPLETE_MARKER))) return dir
  await mkdir(root, { recursive: true })
  const tmp = join(root, `.tmp-${session.bundle.bundleId.slice(0, 16)}-${randomBytes(4).toString('hex')}`)
  try {
    await loadEngine().extractBundle(session.bundle, tmp)
    await writeFile(join(tmp, COMPLETE_MARKER), new Date().toISOString() + '\n')
    await rm(dir, { recursive: true, force: true }) // an incomplete leftover
    await rename(tmp, dir)
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    if (await exists(join(dir, COMPLETE_MARKER))) return dir // another window won the race
    throw err
  }
  return dir
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

export class PreviewPanel extends WebviewHost<PreviewToHost, HostToPreview> {
  /** One preview per session (each bundle's app in its own tab); the last opened is `panel`. */
  private static readonly open = new Map<Session, PreviewPanel>()
  private static current: PreviewPanel | undefined
  /** The page's Repo speaks to the engine's (on its worker thread) through this port: frames relayed. */
  private relay?: { port: MessagePort; detach: () => void }
  /** The page's automerge-repo peer id, from its last `arrive` (until it says `leave`). */
  private pagePeer: string | undefined
  private pageReady = false

  /** The preview opened last, if it is still open. */
  static get panel(): PreviewPanel | undefined {
    return PreviewPanel.current
  }

  /** Every open preview (to close them with the extension). */
  static panels(): PreviewPanel[] {
    return [...PreviewPanel.open.values()]
  }

  /** The open preview of `session`'s app, if any. */
  static of(session: Session): PreviewPanel | undefined {
    return PreviewPanel.open.get(session)
  }

  /** `restored`: a panel VS Code brought back after a window reload (restore.ts), shown in place. */
  static async show(ctx: Ctx, session: Session, restored?: vscode.WebviewPanel): Promise<PreviewPanel> {
    const existing = PreviewPanel.open.get(session)
    if (existing && !existing.disposed) {
      restored?.dispose()
      existing.panel.reveal()
      PreviewPanel.current = existing
      return existing
    }
    // A preview of an earlier session of the same app (a restart) is replaced; other apps keep theirs.
    for (const [old, panel] of PreviewPanel.open) if (old.bundle.manifest.name === session.bundle.manifest.name || old.state !== 'running') panel.dispose()
    const title = `Preview ${session.bundle.manifest.name}`
    const options = {
      enableScripts: true,
      enableCommandUris: false,
      enableForms: true,
      // The app keeps its state (and its Repo) when the tab is hidden.
      retainContextWhenHidden: true,
      localResourceRoots: [webviewOut(ctx.extension.extensionUri)],
    }
    let panel = restored
    if (panel) {
      panel.title = title
      panel.webview.options = options
    } else panel = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, title, toolColumn(), options)
    const preview = new PreviewPanel(ctx, session, panel)
    PreviewPanel.current = preview
    PreviewPanel.open.set(session, preview)
    try {
      await preview.render()
    } catch (err) {
      preview.dispose()
      throw err
    }
    return preview
  }

  /** Shows the session's current build: its entry page from the verified bundle, files extracted beside. */
  private async render(): Promise<void> {
    const { session } = this
    if (session.tonk) return this.renderSite(session.tonk.entrypoints)
    const manifest = session.bundle.manifest
    const entry = manifest.entrypoints[0]
    if (!entry) throw new Error(`bundle ${manifest.name} has no entrypoint`)
    const entryBytes = session.bundle.files.get(entry)
    if (!entryBytes) throw new Error(`bundle ${manifest.name}: entrypoint ${entry} is not among its files`)
    const dir = await extractForPreview(session)
    // The entry page comes from the verified bundle in memory, not from the folder on disk.
    this.show(dir, entry, entryBytes)
    this.ctx.log.info(`preview: ${manifest.name}@${manifest.version} (build ${session.bundle.bundleId.slice(0, 12)}) from ${dirname(join(dir, entry))}`)
  }

  /**
   * A .tonk: the app is documents of the VFS (its entrypoint's folder, "app" → /app/index.html), copied
   * to disk for the webview as of now; a peer's change to any of them reloads the page (watchSite).
   */
  private async renderSite(entrypoints: readonly string[]): Promise<void> {
    const { session } = this
    const wanted = entrypoints.length ? [...entrypoints] : ['/']
    // Resolved and copied to disk in the engine (its tree, its Repo).
    const site = await session.call('previewSite', wanted, join(session.options.dataDir, 'preview'))
    if (!site) throw new Error(`${session.bundle.manifest.name}: the entrypoint ${JSON.stringify(wanted[0])} is neither a file nor a folder with an index.html in the VFS`)
    const entryRelative = site.folder === '/' ? site.entry : site.entry.slice(site.folder.length)
    this.site = { folder: site.folder, key: site.key }
    this.show(site.dir, entryRelative, await readFile(join(site.dir, entryRelative)))
    this.ctx.log.info(`preview: ${session.bundle.manifest.name} from the VFS: ${site.entry} (${site.files} file(s) of ${site.folder}, state ${site.key.slice(0, 12)})`)
  }

  /** The page: `entry` (a path inside `dir`) with the shim injected, its relative URLs resolved in `dir`. */
  private show(dir: string, entry: string, entryBytes: Uint8Array): void {
    const { ctx, panel } = this
    const bundleRoot = vscode.Uri.file(dir)
    const webview = panel.webview
    webview.options = { ...webview.options, localResourceRoots: [webviewOut(ctx.extension.extensionUri), bundleRoot] }
    const entryDir = posix.dirname(entry)
    const base = vscode.Uri.joinPath(bundleRoot, ...entryDir.split('/').filter(Boolean))
    this.pageReady = false
    webview.html = rewriteEntryHtml({
      html: new TextDecoder().decode(entryBytes),
      baseHref: webview.asWebviewUri(base).toString().replace(/\/?$/, '/'),
      shimSrc: webview.asWebviewUri(vscode.Uri.joinPath(webviewOut(ctx.extension.extensionUri), 'preview.js')).toString(),
      nonce: nonce(),
      cspSource: webview.cspSource,
    })
  }

  /** The VFS folder a .tonk preview shows and the state it showed (see renderSite). */
  private site: { folder: string; key: string } | undefined
  private siteCheck: ReturnType<typeof setTimeout> | undefined
  private siteChecking = false
  private lastSiteReload = 0
  /** How many times a change of the app's files in the VFS reloaded the page (tests read it). */
  siteReloads = 0

  /** A document of the app's folder changed (here or on a peer): reload when its files differ. */
  private watchSite(): void {
    this.listen(this.session, 'doc-changed', () => {
      if (this.siteCheck || this.disposed) return
      // Batched: a peer's edit of a file arrives as several changes; one check after they settle, and
      // at most one reload a second however fast a peer writes the app's files.
      this.siteCheck = setTimeout(() => void this.checkSite(), Math.max(SITE_CHECK_MS, this.lastSiteReload + MIN_RELOAD_GAP_MS - Date.now()))
    })
    this.sessionBound.push({ dispose: () => clearTimeout(this.siteCheck) })
  }

  private async checkSite(): Promise<void> {
    this.siteCheck = undefined
    const site = this.site
    if (this.disposed || !site) return
    if (this.siteChecking) {
      this.siteCheck = setTimeout(() => void this.checkSite(), SITE_CHECK_MS) // after the one running
      return
    }
    this.siteChecking = true
    try {
      const key = await this.session.call('siteKey', site.folder)
      if (key === site.key || this.disposed) return
      this.siteReloads++
      this.lastSiteReload = Date.now()
      this.ctx.log.info(`preview: the app's files in ${site.folder} changed: reloading`)
      await this.reload()
    } catch (err) {
      this.ctx.log.warn(`preview: reloading the app from the VFS failed: ${(err as Error).message}`)
    } finally {
      this.siteChecking = false
    }
  }

  /**
   * Hot reload: the session now serves a new build. The page is told, its adapter leaves the session's
   * Repo, and the new build's page loads with a fresh one; app state kept in documents is all still there.
   */
  async reload(): Promise<void> {
    if (this.disposed) return
    this.post({ type: 'reloading', bundleId: this.session.bundle.bundleId })
    this.detach()
    this.attach()
    await this.render()
    // Show the reloaded app, unless that would cover the editor being typed in (same group).
    if (!this.panel.visible && this.panel.viewColumn !== vscode.window.activeTextEditor?.viewColumn) this.panel.reveal(undefined, true)
  }

  private constructor(ctx: Ctx, session: Session, panel: vscode.WebviewPanel) {
    super(ctx, session, panel, 'preview', parsePreviewMessage)
    this.listen(session, 'changed', () => void this.postNetwork())
    if (session.tonk) this.watchSite()
    this.attach()
  }

  /**
   * A fresh adapter for the page in the engine's Repo (one per page load), on the engine's thread: this
   * host only relays the frames, which that adapter checks (src/shared/frames.ts and its addressing).
   */
  private attach(): void {
    const relay = this.session.attach('preview')
    relay.port.on('message', (frame: AdapterFrame) => this.post({ type: 'adapter', frame }))
    this.relay = relay
  }

  /** The page's Repo, once it has connected (its automerge-repo peer id). */
  get pagePeerId(): string | undefined {
    return this.pagePeer
  }

  get isReady(): boolean {
    return this.pageReady
  }

  protected override onDispose(): void {
    if (PreviewPanel.current === this) PreviewPanel.current = undefined
    if (PreviewPanel.open.get(this.session) === this) PreviewPanel.open.delete(this.session)
    this.detach()
  }

  /** Takes the page's adapter out of the engine's Repo. */
  private detach(): void {
    const relay = this.relay
    this.relay = undefined
    this.pagePeer = undefined
    relay?.detach()
  }

  private lastNetwork: string | undefined
  /** Tells the page (tonk.network) when the session goes offline or its peer count changes. */
  private async postNetwork(): Promise<void> {
    if (!this.pageReady || this.disposed) return
    const network = await this.session.networkSummary().catch(() => undefined)
    if (!network || !this.pageReady || this.disposed) return
    const key = JSON.stringify(network)
    if (key === this.lastNetwork) return
    this.lastNetwork = key
    this.post({ type: 'network', network })
  }

  /** The page listens: it gets the root (saved in the engine) to start its Repo from, and the network. */
  private async init(): Promise<void> {
    if (!this.relay) return this.post({ type: 'session-ended' })
    const root = await this.session.call('rootSnapshot').catch(() => undefined)
    if (!root || !this.relay || this.disposed) return this.post({ type: 'session-ended' })
    this.pageReady = true
    const m = this.session.bundle.manifest
    const init: PreviewInit = {
      rootUrl: root.url,
      ...(root.bytes && { rootBytes: root.bytes }),
      peerId: this.session.endpointId ?? '',
      peerName: this.session.peerName,
      bundle: { name: m.name, version: m.version, bundleId: this.session.bundle.bundleId, namespace: m.sync.namespace },
    }
    this.post({ type: 'init', init })
    this.lastNetwork = undefined
    void this.postNetwork()
  }

  protected override onSessionEnded(): void {
    this.detach()
  }

  protected receive(message: PreviewToHost): void {
    switch (message.type) {
      case 'ready':
        void this.init()
        return
      case 'adapter': {
        const { frame } = message
        if (frame.kind === 'arrive') this.pagePeer = frame.peerId
        else if (frame.kind === 'leave' && frame.peerId === this.pagePeer) this.pagePeer = undefined
        this.relay?.port.postMessage(frame)
        return
      }
      case 'log':
        this.ctx.log[message.level](`preview page: ${message.message}`)
        return
      case 'actor':
        // One per document the page changed; a page (the app's own code) cannot grow it past the book's bound.
        if (!this.ended) void this.session.recordOwnActor(message.actor).catch(() => {})
        return
    }
  }
}
