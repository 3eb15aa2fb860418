// The status bar item: session state and peer count (summed over sessions); a click focuses the Peers view.
import * as vscode from 'vscode'
import type { SessionSnapshot } from '../../core/session/session'
import { statusTextAll } from './status-text'

export class SessionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tonk.session', vscode.StatusBarAlignment.Left, 50)
  private snaps: SessionSnapshot[] = []
  private starting = false

  constructor() {
    this.item.name = vscode.l10n.t('Tonk P2P Session')
    this.item.command = 'tonk.peers.focus'
    this.render()
    this.item.show()
  }

  setStarting(starting: boolean): void {
    this.starting = starting
    this.render()
  }

  /** The snapshots of every running session. */
  update(snaps: SessionSnapshot[]): void {
    this.snaps = snaps
    this.render()
  }

  /** What it shows (tests read it). */
  get text(): string {
    return this.item.text
  }

  private render(): void {
    const { text, tooltip } = statusTextAll(this.snaps, this.starting)
    this.item.text = text
    this.item.tooltip = tooltip
  }

  dispose(): void {
    this.item.dispose()
  }
}
