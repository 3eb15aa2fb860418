// Pack Bundle and Validate Manifest: thin over src/core/bundle, with progress and readable results.
import * as vscode from 'vscode'
import type { Issue } from '../../core/bundle'
import type { Ctx } from '../ctx'
import { pickBundle } from '../bundles'
import { loadEngine } from '../engine-loader'

function describeIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.code}${i.path ?? i.pointer ? ` ${i.path ?? i.pointer}` : ''}: ${i.message}`).join('\n')
}

export async function validateManifest(ctx: Ctx, target?: vscode.Uri): Promise<Issue[] | undefined> {
  const bundle = await pickBundle(target, 'Validate which bundle?')
  if (!bundle) return undefined
  const { validateDirectory, validateBundleFile, validateTonkFile } = loadEngine()
  const report = await vscode.window.withProgress<{ issues: Issue[] }>(
    { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Validating {0}', bundle.label) },
    () =>
      bundle.kind === 'folder' ? validateDirectory(bundle.uri.fsPath) : bundle.kind === 'tonk' ? validateTonkFile(bundle.uri.fsPath) : validateBundleFile(bundle.uri.fsPath),
  )
  const errors = report.issues.filter((i) => i.severity === 'error')
  if (errors.length === 0) {
    ctx.log.info(`validate ${bundle.label}: valid`)
    void vscode.window.showInformationMessage(bundle.kind === 'tonk' ? vscode.l10n.t('Tonk: {0} is a valid .tonk file.', bundle.label) : vscode.l10n.t('Tonk: {0} is a valid bundle.', bundle.label))
  } else {
    ctx.log.warn(`validate ${bundle.label}: ${errors.length} error(s)\n${describeIssues(report.issues)}`)
    const first = errors.length === 1 ? `: ${errors[0]!.message}` : ` (the Problems panel lists them all); first: ${errors[0]!.message}`
    void vscode.window.showErrorMessage(errors.length === 1 ? vscode.l10n.t('Tonk: {0} has 1 error{1}', bundle.label, first) : vscode.l10n.t('Tonk: {0} has {1} errors{2}', bundle.label, errors.length, first), vscode.l10n.t('Show Log')).then((a) => {
      if (a) ctx.log.channel.show(true)
    })
  }
  return report.issues
}

export async function packBundle(ctx: Ctx, target?: vscode.Uri, output?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const bundle = await pickBundle(target, 'Pack which bundle folder?', (c) => c.kind === 'folder')
  if (!bundle) return undefined
  if (bundle.kind !== 'folder') {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tonk: pick a bundle folder (with tonk.json) to pack.'))
    return undefined
  }
  const dest =
    output ??
    (await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(`${bundle.uri.fsPath.replace(/\/$/, '')}.zip`),
      filters: { 'Tonk bundle': ['zip'] },
      title: vscode.l10n.t('Save the packed bundle as'),
    }))
  if (!dest) return undefined
  const { packDirectory, BundleError } = loadEngine()
  try {
    const packed = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Packing {0}', bundle.label), cancellable: false },
      async (progress) => {
        progress.report({ message: vscode.l10n.t('hashing and compressing files') })
        const result = await packDirectory(bundle.uri.fsPath)
        progress.report({ message: vscode.l10n.t('writing') })
        await vscode.workspace.fs.writeFile(dest, result.zip)
        return result
      },
    )
    ctx.log.info(`packed ${bundle.label} -> ${dest.fsPath} (bundleId ${packed.bundleId}, ${packed.manifest.files.length} files)`)
    void vscode.window.showInformationMessage(
      vscode.l10n.t('Tonk: packed {0}@{1} ({2} files, bundleId {3}…)', packed.manifest.name, packed.manifest.version, packed.manifest.files.length, packed.bundleId.slice(0, 12)),
    )
    return dest
  } catch (err) {
    const message = err instanceof BundleError ? `${err.code}: ${err.message}` : (err as Error).message
    ctx.log.error(`pack ${bundle.label} failed: ${message}`)
    void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: cannot pack {0}: {1}', bundle.label, message))
    return undefined
  }
}
