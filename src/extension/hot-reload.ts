// The development loop: while a session runs from a bundle folder, saving a file of that folder packs
// it again (a burst of saves is one reload) and the session serves the new build in place: documents,
// identity and connections stay, the preview loads the new page, local peers restart on the new build,
// and a status-bar item says when and which build. A folder that no longer packs keeps the running
// build and says why. `pear dev` is the model. Each session that runs from a folder has its own watch.
import * as vscode from 'vscode'
import type { LoadedBundle } from '../core/bundle'
import type { RemoteSession as Session } from '../core/session/remote/remote-session'
import type { Ctx } from './ctx'
import type { LocalPeers } from './local-peers'
import { chooseSession } from './session-choice'
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
  private readonly timers = new Map<Session, NodeJS.Timeout>()
  /** The sessions whose folders are watched, with their bundle names (the status item names them). */
  private readonly watched = new Map<Session, string>()
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

  /** Starts watching `session`'s folder (if it runs from one), for as long as the session runs. */
  watch(session: Session): void {
    const running = this.sessions.of(session)?.bundle
    if (!running || running.candidate.kind !== 'folder') return
    const folder = running.candidate.uri
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '**/*'))
    const onEvent = (uri: vscode.Uri) => this.schedule(session, uri)
    // A save in this editor is the common case and arrives at once; the watcher (which can lag by most
    // of a second) also catches changes made outside: a build tool, git, another editor.
    const inFolder = (uri: vscode.Uri) => uri.scheme === 'file' && (uri.fsPath + '/').startsWith(folder.fsPath.replace(/\/?$/, '/'))
    this.ctx.ownForSession(session, vscode.workspace.onDidSaveTextDocument((doc) => inFolder(doc.uri) && this.schedule(session, doc.uri, SAVE_DEBOUNCE_MS)))
    this.ctx.ownForSession(session, watcher)
    this.ctx.ownForSession(session, watcher.onDidChange(onEvent))
    this.ctx.ownForSession(session, watcher.onDidCreate(onEvent))
    this.ctx.ownForSession(session, watcher.onDidDelete(onEvent))
    this.ctx.ownForSession(session, {
      dispose: () => {
        clearTimeout(this.timers.get(session))
        this.timers.delete(session)
        this.watched.delete(session)
        this.showWatching()
      },
    })
    this.watched.set(session, running.bundle.manifest.name)
    this.showWatching()
  }

  /** "watching my-world", or "watching 2 bundles"; hidden when no session runs from a folder. */
  private showWatching(): void {
    const names = [...this.watched.values()]
    if (names.length === 0) return this.status.hide()
    this.status.text = names.length === 1 ? vscode.l10n.t('$(eye) Tonk: watching {0}', names[0]!) : vscode.l10n.t('$(eye) Tonk: watching {0} bundles', names.length)
    this.status.tooltip = vscode.l10n.t('Saving a file of {0} reloads that app in its session', names.join(', '))
    this.status.show()
  }

  private schedule(session: Session, uri: vscode.Uri, debounceMs = RELOAD_DEBOUNCE_MS): void {
    // Editors and packers write temp files next to the real ones; git writes its own folder.
    if (/(^|\/)(\.git|node_modules)(\/|$)|~$|\.swp$/.test(uri.path)) return
    this.lastSave = performance.now()
    clearTimeout(this.timers.get(session))
    this.timers.set(
      session,
      setTimeout(() => {
        this.timers.delete(session)
        this.running = this.running.then(async () => void (await this.reloadSession(session)))
      }, debounceMs),
    )
  }

  /** The command "Reload Bundle": the session named (a view row, `{ sessionId }`), the only one, or a pick. */
  async reload(target?: unknown): Promise<LoadedBundle | undefined> {
    const session = await chooseSession(this.sessions, target, vscode.l10n.t('Reload which bundle?'))
    return session ? this.reloadSession(session) : undefined
  }

  /** Repacks and swaps the build now (the command and the watcher both end here). */
  private async reloadSession(session: Session): Promise<LoadedBundle | undefined> {
    const started = this.lastSave || performance.now()
    let bundle: LoadedBundle | undefined
    try {
      bundle = await this.sessions.reloadFromFolder(session)
    } catch (err) {
      const e = err as { code?: string; message: string }
      this.ctx.log.warn(`hot reload: ${e.code ? `${e.code}: ` : ''}${e.message}`)
      this.status.text = vscode.l10n.t('$(warning) Tonk: not reloaded')
      this.status.tooltip = vscode.l10n.t('{0}\n\nThe session keeps serving the previous build. Fix the folder and save again.', e.message)
      return undefined
    }
    if (!bundle) return undefined
    const preview = PreviewPanel.panel
    if (preview && preview.session === session) await preview.reload()
    const ms = Math.round(performance.now() - started)
    const at = new Date()
    const build = bundle.bundleId.slice(0, 4)
    this.status.text = vscode.l10n.t('$(refresh) Tonk: reloaded {0} (build {1}…)', at.toLocaleTimeString(), build)
    this.status.tooltip = vscode.l10n.t('{0}@{1}, build {2}…, reloaded in {3} ms. Documents, identity and peers stayed.', bundle.manifest.name, bundle.manifest.version, bundle.bundleId.slice(0, 12), ms)
    this.ctx.log.info(`hot reload: build ${bundle.bundleId.slice(0, 12)} in ${ms} ms`)
    this.reloadEmitter.fire({ bundle, at, ms })
    await this.restartLocalPeers(session)
    return bundle
  }

  /** Local peers serve a zip of one build: the same number start again on the new one. */
  private async restartLocalPeers(session: Session): Promise<void> {
    const count = this.localPeers.runningCountOf(session.options.dataDir)
    const running = this.sessions.of(session)?.bundle
    if (count === 0 || !session.ticket || !running) return
    try {
      await this.localPeers.stop(session.options.dataDir)
      await this.localPeers.start({ bundleZip: await running.zipPath(), sessionDataDir: session.options.dataDir, ticket: session.ticket, count })
      this.ctx.log.info(`hot reload: ${count} local peer(s) restarted on the new build`)
    } catch (err) {
      this.ctx.log.warn(`hot reload: restarting local peers failed: ${(err as Error).message}`)
    }
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.status.dispose()
    this.reloadEmitter.dispose()
  }
}
