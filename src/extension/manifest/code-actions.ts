// Quick fixes for tonk.json diagnostics: "Recompute files and bundleId" writes what pack computes into
// the manifest; "Repack bundle" packs the folder again (into its sibling .zip when one exists).
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import * as vscode from 'vscode'
import type { Ctx } from '../ctx'
import { loadEngine } from '../engine-loader'
import { DIAGNOSTIC_SOURCE, folderOf } from './diagnostics'
import { RECOMPUTABLE } from './place-issues'

export const RECOMPUTE_COMMAND = 'tonk.recomputeManifest'

export class ManifestCodeActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix]

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const ours = context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE && RECOMPUTABLE.has(String(d.code)))
    if (ours.length === 0) return []
    const recompute = new vscode.CodeAction('Recompute files and bundleId', vscode.CodeActionKind.QuickFix)
    recompute.diagnostics = ours
    recompute.isPreferred = true
    recompute.command = { command: RECOMPUTE_COMMAND, title: vscode.l10n.t('Recompute files and bundleId'), arguments: [document.uri] }
    const folder = folderOf(document.uri)
    const zip = vscode.Uri.file(`${folder}.zip`)
    const repack = new vscode.CodeAction('Repack bundle', vscode.CodeActionKind.QuickFix)
    repack.diagnostics = ours
    repack.command = {
      command: 'tonk.packBundle',
      title: vscode.l10n.t('Repack bundle'),
      arguments: existsSync(zip.fsPath) ? [vscode.Uri.file(folder), zip] : [vscode.Uri.file(folder)],
    }
    return [recompute, repack]
  }
}

/**
 * Writes the computed `files`, `sync.bundleId` (and `sync.rootDocument`, when the manifest has one) into
 * tonk.json, keeping every other field and the order of keys, and saves it. Returns false (after
 * saying why) when the folder has errors pack refuses on.
 */
export async function recomputeManifest(ctx: Ctx, manifestUri: vscode.Uri): Promise<boolean> {
  const folder = folderOf(manifestUri)
  // Unsaved edits are what the user means: save them first, then work on the file.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === manifestUri.fsPath)
  if (open?.isDirty) await open.save()
  const inspected = await loadEngine().inspectDirectory(folder)
  const errors = inspected.issues.filter((i) => i.severity === 'error')
  if (!inspected.manifest || errors.length) {
    const first = errors[0]
    ctx.log.warn(`recompute ${manifestUri.fsPath}: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'no manifest'}`)
    const file = vscode.workspace.asRelativePath(manifestUri)
    void vscode.window.showErrorMessage(first ? vscode.l10n.t('Tonk: fix the errors in {0} first: {1}', file, first.message) : vscode.l10n.t('Tonk: fix the errors in {0} first', file))
    return false
  }
  const text = await readFile(manifestUri.fsPath, 'utf8')
  let authored: Record<string, unknown> & { sync?: Record<string, unknown> }
  try {
    authored = JSON.parse(text)
  } catch (err) {
    ctx.log.warn(`recompute ${manifestUri.fsPath}: not valid JSON: ${(err as Error).message}`)
    void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: tonk.json is not valid JSON: {0}', (err as Error).message))
    return false
  }
  const computed = inspected.manifest
  authored.files = computed.files
  authored.sync = authored.sync ?? {}
  authored.sync.bundleId = computed.sync.bundleId
  if (authored.sync.rootDocument !== undefined) authored.sync.rootDocument = computed.sync.rootDocument
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? '  '
  const updated = JSON.stringify(authored, null, indent) + '\n'
  if (updated === text) return true
  // Written on disk (an open, saved editor reloads it): the editor's model may lag behind the file.
  await writeFile(manifestUri.fsPath, updated)
  ctx.log.info(`recomputed files and bundleId of ${vscode.workspace.asRelativePath(manifestUri)}: ${computed.sync.bundleId}`)
  return true
}
