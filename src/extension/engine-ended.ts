// What the user sees when a session's engine thread ended on its own (session-manager.ts has stopped
// the session by then): one error notification, with a restart and the log.
import * as vscode from 'vscode'
import type { Ctx } from './ctx'

/** Tells the user that the session of app `name` stopped; `restart` starts it again on the same data. */
export async function tellEngineEnded(ctx: Ctx, name: string, restart: () => Promise<unknown>): Promise<void> {
  const again = vscode.l10n.t('Restart Session')
  const showLog = vscode.l10n.t('Show Log')
  const action = await vscode.window.showErrorMessage(
    vscode.l10n.t('Tonk: the P2P session of {0} stopped: its engine ended unexpectedly. Its data is on disk; restart to go on.', name),
    again,
    showLog,
  )
  if (action === showLog) ctx.log.channel.show()
  if (action === again) await restart().catch((err) => ctx.log.error(`restarting ${name}: ${(err as Error).message}`))
}
