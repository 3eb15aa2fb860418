// What every Tonk webview panel does the same way (after GitLens's WebviewController): take each
// message from the page through its protocol's guard (a malformed one is logged and dropped, never
// thrown at), post typed messages (a failed post is logged, not raised), follow the session (the
// panel is told when it ends, and its session listeners go), and dispose once. The inspector and the
// preview add only what they show.
import type * as vscode from 'vscode'
import type { RemoteSession as Session } from '../../core/session/remote/remote-session'
import type { Ctx } from '../ctx'
import type { Parsed } from './guards'

export abstract class WebviewHost<FromPage, ToPage extends { type: string }> implements vscode.Disposable {
  /** Listeners that live as long as the panel. */
  private readonly panelBound: vscode.Disposable[] = []
  /** Listeners on the session (or its documents): disposed when the session ends, or with the panel. */
  protected readonly sessionBound: vscode.Disposable[] = []
  protected disposed = false
  /** The session this panel shows has stopped (or was restarted: a new Session). */
  protected ended = false

  protected constructor(
    protected readonly ctx: Ctx,
    readonly session: Session,
    readonly panel: vscode.WebviewPanel,
    /** For log lines ("inspector", "preview"). */
    protected readonly label: string,
    private readonly parse: (raw: unknown) => Parsed<FromPage>,
  ) {
    this.panelBound.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw) => {
        const parsed = this.parse(raw)
        if (!parsed.ok) {
          this.ctx.log.warn(`${this.label}: dropped a message from the webview: ${parsed.reason}`)
          return
        }
        this.receive(parsed.message)
      }),
      ctx.sessions.onDidStop((stopped) => {
        if (stopped === session) this.sessionEnded()
      }),
    )
  }

  /** A message from the page that passed the guard. */
  protected abstract receive(message: FromPage): void

  /** The session ended: after the session listeners are gone, before the page is told. */
  protected onSessionEnded(): void {}

  /** The panel closes: before its listeners go. */
  protected onDispose(): void {}

  protected post(message: ToPage): void {
    if (this.disposed) return
    void this.panel.webview.postMessage(message).then(undefined, (err: Error) => this.ctx.log.debug(`${this.label}: post failed: ${err.message}`))
  }

  /** Listens to `event` on an emitter until the session ends or the panel closes. */
  protected listen<E extends string>(emitter: { on(e: E, fn: (...a: any[]) => void): unknown; off(e: E, fn: (...a: any[]) => void): unknown }, event: E, fn: (...a: any[]) => void): void {
    emitter.on(event, fn)
    this.sessionBound.push({ dispose: () => void emitter.off(event, fn) })
  }

  protected sessionEnded(): void {
    if (this.ended || this.disposed) return
    this.ended = true
    for (const d of this.sessionBound.splice(0)) d.dispose()
    this.onSessionEnded()
    this.post({ type: 'session-ended' } as ToPage)
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.onDispose()
    for (const d of this.sessionBound.splice(0)) d.dispose()
    for (const d of this.panelBound.splice(0)) d.dispose()
    this.panel.dispose()
  }
}
