// activate() stays thin: build the context, register commands from a table, report failures visibly.
import * as vscode from 'vscode'
import { Ctx } from './ctx'
import { createLogger } from './log'
import { packBundle, validateManifest } from './commands/manifest'

let ctx: Ctx | undefined

/** How long the last activate() took, in ms (read by tests and the activation benchmark). */
export let activationMs = 0

export function activate(context: vscode.ExtensionContext): { activationMs: number } {
  const started = performance.now()
  const log = createLogger()
  try {
    ctx = new Ctx(context, log)
    context.subscriptions.push(ctx, log.channel)
    const commands: Record<string, (...args: any[]) => unknown> = {
      'tonk.validateManifest': (uri?: vscode.Uri) => validateManifest(ctx!, uri),
      'tonk.packBundle': (uri?: vscode.Uri, output?: vscode.Uri) => packBundle(ctx!, uri, output),
    }
    for (const [id, fn] of Object.entries(commands)) {
      ctx.own(vscode.commands.registerCommand(id, fn))
    }
  } catch (err) {
    log.error(`Tonk P2P failed to activate: ${(err as Error).stack ?? err}`)
    void vscode.window.showErrorMessage(`Tonk P2P failed to activate: ${(err as Error).message}`)
    throw err
  } finally {
    activationMs = performance.now() - started
    log.info(`activated in ${activationMs.toFixed(1)} ms`)
  }
  return { activationMs }
}

export function deactivate(): void {
  ctx?.dispose()
  ctx = undefined
}
