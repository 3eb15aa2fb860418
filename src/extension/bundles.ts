// Finding bundles in the workspace: folders with a tonk.json, packed bundle zips, and Tonk's .tonk files.
import * as vscode from 'vscode'

export interface BundleCandidate {
  kind: 'folder' | 'zip' | 'tonk'
  uri: vscode.Uri
  label: string
}

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/out/**}'

export async function findBundles(): Promise<BundleCandidate[]> {
  const [manifests, zips, tonks] = await Promise.all([
    vscode.workspace.findFiles('**/tonk.json', EXCLUDE, 200),
    vscode.workspace.findFiles('**/*.zip', EXCLUDE, 200),
    vscode.workspace.findFiles('**/*.tonk', EXCLUDE, 200),
  ])
  const folders = manifests.map((m) => {
    const uri = vscode.Uri.joinPath(m, '..')
    return { kind: 'folder' as const, uri, label: folderLabel(uri) }
  })
  const files = zips.map((uri) => ({ kind: 'zip' as const, uri, label: vscode.workspace.asRelativePath(uri) }))
  const tonkFiles = tonks.map((uri) => ({ kind: 'tonk' as const, uri, label: vscode.workspace.asRelativePath(uri) }))
  return [...folders, ...files, ...tonkFiles].sort((a, b) => a.label.localeCompare(b.label))
}

/** How a person names a bundle folder: relative to the workspace, or a workspace folder by its name. */
export function folderLabel(uri: vscode.Uri): string {
  const relative = vscode.workspace.asRelativePath(uri, false)
  if (relative && relative !== uri.fsPath) return relative
  return vscode.workspace.getWorkspaceFolder(uri)?.name ?? uri.path.split('/').filter(Boolean).pop() ?? uri.fsPath
}

/** The bundle a command acts on: the one given, the only one, or the one the user picks. */
export async function pickBundle(
  given: vscode.Uri | undefined,
  title: string,
  filter: (c: BundleCandidate) => boolean = () => true,
): Promise<BundleCandidate | undefined> {
  if (given) {
    const isManifest = given.path.endsWith('/tonk.json')
    const isZip = given.path.endsWith('.zip')
    if (isZip) return { kind: 'zip', uri: given, label: vscode.workspace.asRelativePath(given) }
    if (/\.tonk$/i.test(given.path)) return { kind: 'tonk', uri: given, label: vscode.workspace.asRelativePath(given) }
    const uri = isManifest ? vscode.Uri.joinPath(given, '..') : given
    return { kind: 'folder', uri, label: folderLabel(uri) }
  }
  const all = (await findBundles()).filter(filter)
  if (all.length === 0) {
    void vscode.window.showWarningMessage(vscode.l10n.t('No Tonk bundle in this workspace: add a folder with a tonk.json (tonk-p2p init), a bundle .zip or a .tonk file.'))
    return undefined
  }
  if (all.length === 1) return all[0]
  const picked = await vscode.window.showQuickPick(
    all.map((c) => ({ label: c.label, description: c.kind === 'folder' ? 'bundle folder' : c.kind === 'tonk' ? 'Tonk file' : 'packed bundle', candidate: c })),
    { title, placeHolder: vscode.l10n.t('Pick a bundle') },
  )
  return picked?.candidate
}
