// P2P on a machine this VSIX carries no iroh build for (the universal VSIX on Windows, Intel Macs,
// Linux arm64, …): P2P commands say why and what to use instead, and the Peers view says so up front.
// The manifest tools, the trace and the offline document inspector (the CLI's `doc` commands) need no
// native module and keep working.
import * as vscode from 'vscode'
import type { Ctx } from './ctx'
import type { NativeMissingError } from '../core/net/iroh'
import { loadEngine } from './engine-loader'

export const P2P_UNAVAILABLE_CONTEXT = 'tonk.p2pUnavailable'

/** The user-facing text for a missing or unloadable iroh module (tests match on its first words). */
export function nativeMissingText(err: NativeMissingError): string {
  const { label, published, vscodeTarget } = err.target
  const why =
    err.code === 'E_NATIVE_LOAD'
      ? vscode.l10n.t('P2P sessions need the iroh native module, and the one this VSIX carries for {0} does not load here (see the log).', label)
      : vscode.l10n.t('P2P sessions need the iroh native module, which this VSIX does not carry for {0}.', label)
  const instead = published
    ? vscode.l10n.t(
        'Install the {0} build of Tonk P2P (the Marketplace picks it by itself; from a file: {1}), or run `tonk-p2p serve BUNDLE` on a machine that has it and connect your peers to it by ticket.',
        label,
        `tonk-p2p-${vscodeTarget}.vsix`,
      )
    : vscode.l10n.t(
        'iroh is built for {0} only: open this folder on one of those (also through Remote - SSH or WSL), or run `tonk-p2p serve BUNDLE` there and connect your peers to it by ticket.',
        loadEngine().publishedLabels(),
      )
  return vscode.l10n.t('Tonk: {0} {1} Validate Manifest and Pack Bundle work here. ({2})', why, instead, err.code)
}

/**
 * For a P2P command before it needs a session: true (after telling the user why) when iroh is missing.
 * Loads the native module when it is there (the command is about to anyway), never during activation.
 */
export function p2pUnavailable(ctx: Ctx): boolean {
  let problem: NativeMissingError | undefined
  try {
    problem = loadEngine().irohProblem()
  } catch (err) {
    ctx.log.error(`checking the iroh native module: ${(err as Error).stack ?? err}`)
    return false // let the command fail on its own, with its own message
  }
  if (!problem) return false
  ctx.log.warn(`${problem.code}: ${problem.message} Looked for: ${problem.searched.join(', ') || '(no candidate for this platform)'}`)
  if (problem.cause) ctx.log.warn(`iroh load error: ${(problem.cause as Error).message ?? problem.cause}`)
  void vscode.commands.executeCommand('setContext', P2P_UNAVAILABLE_CONTEXT, true)
  void vscode.window.showErrorMessage(nativeMissingText(problem), vscode.l10n.t('Validate Manifest'), vscode.l10n.t('Show Log')).then((a) => {
    if (a === vscode.l10n.t('Validate Manifest')) void vscode.commands.executeCommand('tonk.validateManifest')
    if (a === vscode.l10n.t('Show Log')) ctx.log.channel.show(true)
  })
  return true
}

/** Sets the Peers view's context from a file probe (no loading): called after the engine has loaded anyway. */
export function updateP2pContext(ctx: Ctx): void {
  try {
    const missing = !loadEngine().findNativeBinary()
    if (missing) ctx.log.info('no iroh native module for this platform in this VSIX: P2P sessions are off; manifest tools work')
    void vscode.commands.executeCommand('setContext', P2P_UNAVAILABLE_CONTEXT, missing)
  } catch (err) {
    ctx.log.warn(`probing the iroh native module: ${(err as Error).message}`)
  }
}
