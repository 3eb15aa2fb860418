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
      title: 'New Tonk Bundle: pick an empty folder, or the folder to create it in',
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Create Bundle Here',
    })
    if (!picked?.[0]) return undefined
    dir = picked[0].fsPath
    if ((await readdir(dir)).length > 0) {
      const name = await vscode.window.showInputBox({
        title: 'New Tonk Bundle',
        prompt: `${dir} has files: the bundle goes into a new folder inside it`,
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
    void vscode.window.showErrorMessage(`Tonk: cannot create a bundle in ${dir}: ${(err as Error).message}`)
    return undefined
  }
  if (open === 'ask') {
    const uri = vscode.Uri.file(dir)
    const inWorkspace = vscode.workspace.getWorkspaceFolder(uri)
    if (inWorkspace) {
      await vscode.window.showTextDocument(vscode.Uri.joinPath(uri, 'tonk.json'))
    } else {
      const choice = await vscode.window.showInformationMessage(`Tonk: new bundle in ${dir}.`, 'Open Folder', 'Add to Workspace')
      if (choice === 'Open Folder') await vscode.commands.executeCommand('vscode.openFolder', uri)
      else if (choice === 'Add to Workspace') vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders?.length ?? 0, 0, { uri })
    }
  }
  return dir
}
