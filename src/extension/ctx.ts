// One context object for the extension (after rust-analyzer's Ctx): it owns two disposal scopes, the
// extension's lifetime and the current P2P session's, so a session stops and restarts without reloading
// the window.
import * as vscode from 'vscode'
import type { Session } from '../core/session/session'
import type { ExtensionLogger } from './log'

/**
 * The running P2P session, for views and webviews. `current` is set while a session runs (state
 * 'running' or going offline/online) and undefined otherwise; `onDidChange` fires on start and stop.
 * Owned by the session commands (src/extension/session-manager.ts).
 */
export interface SessionHost {
  readonly current: Session | undefined
  readonly onDidChange: vscode.Event<Session | undefined>
}

export class Ctx implements vscode.Disposable {
  private readonly sessionDisposables: vscode.Disposable[] = []

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

  /** Something that lives as long as the current session; disposed by `endSessionScope()`. */
  ownForSession<T extends vscode.Disposable>(d: T): T {
    this.sessionDisposables.push(d)
    return d
  }

  endSessionScope(): void {
    for (const d of this.sessionDisposables.splice(0).reverse()) {
      try {
        d.dispose()
      } catch (err) {
        this.log.warn(`disposing a session resource failed: ${(err as Error).message}`)
      }
    }
  }

  dispose(): void {
    this.endSessionScope()
  }
}
