// "Tonk: New Bundle…": the same starter `tonk-p2p init` writes (a tonk.json with a fresh app key, a page
// and a script that counts clicks in a shared document), in a folder the person picks, then opened.
// Works in the universal VSIX too: it needs the bundle code of the engine, not iroh.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import * as vscode from 'vscode'
import type { Ctx } from '../ctx'
import { loadEngine } from '../engine-loader'

/** Tests pass the folder (and 'none' to skip opening it); people pick one. Returns the bundle folder. */
export async function newBundle(ctx: Ctx, target?: vscode.Uri, open: 'ask' | 'none' = 'ask'): Promise<string | undefined> {
  let dir = target?.fsPath
  if (!dir) {
    const picked = await vscode.window.showOpenDialog({
      title: vscode.l10n.t('New Tonk Bundle: pick an empty folder, or the folder to create it in'),
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: vscode.l10n.t('Create Bundle Here'),
    })
    if (!picked?.[0]) return undefined
    dir = picked[0].fsPath
    if ((await readdir(dir)).length > 0) {
      const name = await vscode.window.showInputBox({
        title: vscode.l10n.t('New Tonk Bundle'),
        prompt: vscode.l10n.t('{0} has files: the bundle goes into a new folder inside it', dir),
        value: 'my-app',
        validateInput: (v) => (/^[a-z0-9][a-z0-9._-]{0,63}$/.test(v) ? undefined : 'lower case letters, digits, . _ - (up to 64)'),
      })
      if (!name) return undefined
      dir = join(dir, name)
    }
  }
  try {
    const files = await loadEngine().createNewBundle(dir)
    ctx.log.info(`new bundle in ${dir}: ${files.join(', ')}`)
  } catch (err) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: cannot create a bundle in {0}: {1}', dir, (err as Error).message))
    return undefined
  }
  if (open === 'ask') {
    const uri = vscode.Uri.file(dir)
    const inWorkspace = vscode.workspace.getWorkspaceFolder(uri)
    if (inWorkspace) {
      await vscode.window.showTextDocument(vscode.Uri.joinPath(uri, 'tonk.json'))
    } else {
      const choice = await vscode.window.showInformationMessage(vscode.l10n.t('Tonk: new bundle in {0}.', dir), vscode.l10n.t('Open Folder'), vscode.l10n.t('Add to Workspace'))
      if (choice === vscode.l10n.t('Open Folder')) await vscode.commands.executeCommand('vscode.openFolder', uri)
      else if (choice === vscode.l10n.t('Add to Workspace')) vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders?.length ?? 0, 0, { uri })
    }
  }
  return dir
}
