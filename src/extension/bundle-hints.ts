// Asks the user before a session dials addresses the bundle's manifest names (its bootstrap peers):
// a folder someone else wrote could otherwise make this editor contact any address at every start,
// telling it the user's IP. One modal per start lists what is new; "Allow" is remembered per app (its
// public appId, derived from sync.appKey: stable across builds, unlike the bundleId, and unlike the
// namespace not something another folder can copy without being the app) and value in the extension's
// globalState; "Not now" asks again at the next start.
import * as vscode from 'vscode'
import type { ApproveBundleHints, BundleHint } from '../core/bundle/hints'
import { loadEngine } from './engine-loader'
import type { ExtensionLogger } from './log'

export const APPROVED_HINTS_KEY = 'tonk.approvedBundleHints'

export function bundleHintApprover(
  state: vscode.Memento,
  log: ExtensionLogger,
  bundle: { name: string; appId: string },
): ApproveBundleHints {
  const keyOf = (h: BundleHint) => JSON.stringify([bundle.appId, h.kind, h.value])
  return async (hints) => {
    const approved = new Set(state.get<string[]>(APPROVED_HINTS_KEY, []))
    const known = hints.filter((h) => approved.has(keyOf(h)))
    const asked = hints.filter((h) => !approved.has(keyOf(h)))
    if (asked.length === 0) return known
    const { describeHint } = loadEngine()
    const allow: vscode.MessageItem = { title: vscode.l10n.t('Allow') }
    const notNow: vscode.MessageItem = { title: vscode.l10n.t('Not now'), isCloseAffordance: true }
    const answer = await vscode.window.showWarningMessage(
      asked.length === 1
        ? vscode.l10n.t('The bundle {0} asks to connect to a peer it names', bundle.name)
        : vscode.l10n.t('The bundle {0} asks to connect to {1} peers it names', bundle.name, asked.length),
      {
        modal: true,
        detail:
          `${asked.map((h) => `• ${describeHint(h)}`).join('\n')}\n\n` +
          vscode.l10n.t(
            'Its manifest (sync.discovery.bootstrapPeers) lists them. Connecting tells them your IP address and that you run this bundle. Allow is remembered for this bundle; Not now asks again at the next start.',
          ),
      },
      allow,
      notNow,
    )
    if (answer !== allow) {
      log.info(`bundle ${bundle.name}: bootstrap peers not allowed this time: ${asked.map(describeHint).join('; ')}`)
      return known
    }
    await state.update(APPROVED_HINTS_KEY, [...approved, ...asked.map(keyOf)])
    log.info(`bundle ${bundle.name}: bootstrap peers allowed: ${asked.map(describeHint).join('; ')}`)
    return hints
  }
}
