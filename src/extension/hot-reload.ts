// The development loop: while a session runs from a bundle folder, saving a file of that folder packs
// it again (a burst of saves is one reload) and the session serves the new build in place: documents,
// identity and connections stay, the preview loads the new page, local peers restart on the new build,
// and a status-bar item says when and which build. A folder that no longer packs keeps the running
// build and says why. `pear dev` is the model.
import * as vscode from 'vscode'
import type { LoadedBundle } from '../core/bundle'
import type { Ctx } from './ctx'
import type { LocalPeers } from './local-peers'
import type { SessionManager } from './session-manager'
import { PreviewPanel } from './webviews/preview'

/** File events closer together than this are one reload (a build tool writes many files at once). */
export const RELOAD_DEBOUNCE_MS = 150
/** A save in the editor is one event: barely wait (a "Save All" still comes as one burst). */
const SAVE_DEBOUNCE_MS = 30

export interface ReloadEvent {
  bundle: LoadedBundle
  at: Date
  /** Time from the last save to the preview showing the new page's shell (ms). */
  ms: number
}

export class HotReload implements vscode.Disposable {
  private readonly reloadEmitter = new vscode.EventEmitter<ReloadEvent>()
  /** Fired after each reload that changed the build (tests and the status item listen). */
  readonly onDidReload = this.reloadEmitter.event
  private readonly status = vscode.window.createStatusBarItem('tonk.reload', vscode.StatusBarAlignment.Left, 99)
  private timer: NodeJS.Timeout | undefined
  private lastSave = 0
  private running: Promise<void> = Promise.resolve()

  constructor(
    private readonly ctx: Ctx,
    private readonly sessions: SessionManager,
    private readonly localPeers: LocalPeers,
  ) {
    this.status.name = vscode.l10n.t('Tonk hot reload')
    this.status.command = 'tonk.showLog'
  }

  /** Starts watching the running session's folder (if it runs from one), for as long as the session runs. */
  watchCurrent(): void {
    const running = this.sessions.bundle
    if (!running || running.candidate.kind !== 'folder') {
      this.status.hide()
      return
    }
    const folder = running.candidate.uri
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '**/*'))
    const onEvent = (uri: vscode.Uri) => this.schedule(uri)
    // A save in this editor is the common case and arrives at once; the watcher (which can lag by most
    // of a second) also catches changes made outside: a build tool, git, another editor.
    const inFolder = (uri: vscode.Uri) => uri.scheme === 'file' && (uri.fsPath + '/').startsWith(folder.fsPath.replace(/\/?$/, '/'))
    this.ctx.ownForSession(vscode.workspace.onDidSaveTextDocument((doc) => inFolder(doc.uri) && this.schedule(doc.uri, SAVE_DEBOUNCE_MS)))
    this.ctx.ownForSession(watcher)
    this.ctx.ownForSession(watcher.onDidChange(onEvent))
    this.ctx.ownForSession(watcher.onDidCreate(onEvent))
    this.ctx.ownForSession(watcher.onDidDelete(onEvent))
    this.ctx.ownForSession({ dispose: () => (clearTimeout(this.timer), this.status.hide()) })
    this.status.text = vscode.l10n.t('$(eye) Tonk: watching {0}', running.bundle.manifest.name)
    this.status.tooltip = vscode.l10n.t('Saving a file of {0} reloads the app in this session (build {1}…)', folder.fsPath, running.bundle.bundleId.slice(0, 12))
    this.status.show()
  }

  private schedule(uri: vscode.Uri, debounceMs = RELOAD_DEBOUNCE_MS): void {
    // Editors and packers write temp files next to the real ones; git writes its own folder.
    if (/(^|\/)(\.git|node_modules)(\/|$)|~$|\.swp$/.test(uri.path)) return
    this.lastSave = performance.now()
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.running = this.running.then(async () => void (await this.reload()))
    }, debounceMs)
  }

  /** Repacks and swaps the build now (the command "Reload Bundle" and the watcher both end here). */
  async reload(): Promise<LoadedBundle | undefined> {
    const started = this.lastSave || performance.now()
    let bundle: LoadedBundle | undefined
    try {
      bundle = await this.sessions.reloadFromFolder()
    } catch (err) {
      const e = err as { code?: string; message: string }
      this.ctx.log.warn(`hot reload: ${e.code ? `${e.code}: ` : ''}${e.message}`)
      this.status.text = vscode.l10n.t('$(warning) Tonk: not reloaded')
      this.status.tooltip = vscode.l10n.t('{0}\n\nThe session keeps serving the previous build. Fix the folder and save again.', e.message)
      return undefined
    }
    if (!bundle) return undefined
    const preview = PreviewPanel.panel
    if (preview && preview.session === this.sessions.current) await preview.reload()
    const ms = Math.round(performance.now() - started)
    const at = new Date()
    const build = bundle.bundleId.slice(0, 4)
    this.status.text = vscode.l10n.t('$(refresh) Tonk: reloaded {0} (build {1}…)', at.toLocaleTimeString(), build)
    this.status.tooltip = vscode.l10n.t('{0}@{1}, build {2}…, reloaded in {3} ms. Documents, identity and peers stayed.', bundle.manifest.name, bundle.manifest.version, bundle.bundleId.slice(0, 12), ms)
    this.ctx.log.info(`hot reload: build ${bundle.bundleId.slice(0, 12)} in ${ms} ms`)
    this.reloadEmitter.fire({ bundle, at, ms })
    await this.restartLocalPeers()
    return bundle
  }

  /** Local peers serve a zip of one build: the same number start again on the new one. */
  private async restartLocalPeers(): Promise<void> {
    const count = this.localPeers.runningCount
    const session = this.sessions.current
    const running = this.sessions.bundle
    if (count === 0 || !session?.ticket || !running) return
    try {
      await this.localPeers.stop()
      await this.localPeers.start({ bundleZip: await running.zipPath(), sessionDataDir: session.options.dataDir, ticket: session.ticket, count })
      this.ctx.log.info(`hot reload: ${count} local peer(s) restarted on the new build`)
    } catch (err) {
      this.ctx.log.warn(`hot reload: restarting local peers failed: ${(err as Error).message}`)
    }
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.status.dispose()
    this.reloadEmitter.dispose()
  }
}
