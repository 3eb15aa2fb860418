// One context object for the extension (after rust-analyzer's Ctx): it owns disposal scopes for the
// extension's lifetime and for each running P2P session, so a session stops and restarts without
// reloading the window, and several bundles' sessions run side by side.
import * as vscode from 'vscode'
import type { RemoteSession as Session } from '../core/session/remote/remote-session'
import type { ExtensionLogger } from './log'
import type { RunningSession } from './session-manager'

/**
 * The running P2P sessions, for views and webviews (owned by src/extension/session-manager.ts).
 * `current` is the active one (the last started or chosen) while any runs; `onDidChange` fires when it
 * changes; `onDidStart`/`onDidStop` fire for each session of any bundle.
 */
export interface SessionHost {
  readonly current: Session | undefined
  /** Every running session, in start order. */
  list(): readonly RunningSession[]
  byId(id: string): RunningSession | undefined
  of(session: Session): RunningSession | undefined
  readonly onDidChange: vscode.Event<Session | undefined>
  readonly onDidStart: vscode.Event<Session>
  readonly onDidStop: vscode.Event<Session>
}

export class Ctx implements vscode.Disposable {
  private readonly sessionDisposables = new Map<Session, vscode.Disposable[]>()

  /** Set in activate() once the session manager exists. */
  sessions!: SessionHost

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly log: ExtensionLogger,
  ) {}

  /** Something that lives as long as the extension. */
  own<T extends vscode.Disposable>(d: T): T {
    this.extension.subscriptions.push(d)
    return d
  }

  /** Something that lives as long as `session`; disposed by `endSessionScope(session)`. */
  ownForSession<T extends vscode.Disposable>(session: Session, d: T): T {
    const list = this.sessionDisposables.get(session) ?? []
    list.push(d)
    this.sessionDisposables.set(session, list)
    return d
  }

  endSessionScope(session: Session): void {
    const list = this.sessionDisposables.get(session) ?? []
    this.sessionDisposables.delete(session)
    for (const d of list.reverse()) {
      try {
        d.dispose()
      } catch (err) {
        this.log.warn(`disposing a session resource failed: ${(err as Error).message}`)
      }
    }
  }

  dispose(): void {
    for (const session of [...this.sessionDisposables.keys()]) this.endSessionScope(session)
  }
}
