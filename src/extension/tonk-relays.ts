// A .tonk's `networkUris` name relay servers (Tonk's sync relays): offered as the session's bridge,
// asked once. The file is content someone may have sent; syncing through its relay sends every
// document of the app to that server and tells it the user's IP, so nothing is used without a yes.
// "Use Relay" is remembered per file identity (its rootId, hashed) and relay; "Not now" asks again at
// the next start. The user's own tonk.bridge setting wins and is not asked about.
import { createHash } from 'node:crypto'
import * as vscode from 'vscode'
import type { ExtensionLogger } from './log'

export const APPROVED_RELAYS_KEY = 'tonk.approvedTonkRelays'

const keyOf = (rootId: string, uri: string) => `${createHash('sha256').update(rootId).digest('hex').slice(0, 32)} ${uri}`

/** The relay to bridge to for this .tonk: an approved one, else asked (modal); undefined = none. */
export async function chooseTonkRelay(state: vscode.Memento, log: ExtensionLogger, file: { name: string; rootId: string; relays: string[] }): Promise<string | undefined> {
  if (file.relays.length === 0) return undefined
  const approved = new Set(state.get<string[]>(APPROVED_RELAYS_KEY, []))
  const known = file.relays.find((uri) => approved.has(keyOf(file.rootId, uri)))
  if (known) {
    log.info(`${file.name}: syncing through its relay ${known} too (allowed before)`)
    return known
  }
  // One bridge per session: the first relay the file names (Tonk's runtimes also try them in order).
  const relay = file.relays[0]!
  const use: vscode.MessageItem = { title: vscode.l10n.t('Use Relay') }
  const notNow: vscode.MessageItem = { title: vscode.l10n.t('Not now'), isCloseAffordance: true }
  const answer = await vscode.window.showWarningMessage(
    vscode.l10n.t('{0} names a relay server to sync through', file.name),
    {
      modal: true,
      detail:
        `• ${relay}\n\n` +
        vscode.l10n.t(
          "Its manifest (networkUris) lists it. Syncing through it sends this app's documents to that server and tells it your IP address; peers still sync directly too. Use Relay is remembered for this file; Not now asks again at the next start.",
        ),
    },
    use,
    notNow,
  )
  if (answer !== use) {
    log.info(`${file.name}: its relay ${relay} not used this time`)
    return undefined
  }
  await state.update(APPROVED_RELAYS_KEY, [...approved, keyOf(file.rootId, relay)])
  log.info(`${file.name}: syncing through its relay ${relay} too`)
  return relay
}
