// Problems-panel diagnostics for every tonk.json in the workspace, from the same checks `tonk-p2p
// validate` runs (validateDirectory: schema with JSON pointers, entrypoints and files against the folder,
// stale files/bundleId), re-run when the manifest is saved or a file of its folder changes. The JSON
// schema (package.json `jsonValidation`) underlines shape problems while typing; these say what a schema
// cannot. Quick fixes: code-actions.ts.
import { readFile } from 'node:fs/promises'
import * as vscode from 'vscode'
import type { Ctx } from '../ctx'
import { loadEngine } from '../engine-loader'
import { readSettings } from '../settings'
import { placeIssues } from './place-issues'

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/out/**}'
const DEBOUNCE_MS = 300
export const DIAGNOSTIC_SOURCE = 'tonk'

export class ManifestDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('tonk')
  /** Bundle folders (fsPath, no trailing slash) whose tonk.json we watch. */
  private readonly folders = new Set<string>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly disposables: vscode.Disposable[] = []
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>()
  /** Fires after a tonk.json's diagnostics were replaced (tests wait on it). */
  readonly onDidUpdate = this.changeEmitter.event

  constructor(private readonly ctx: Ctx) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*')
    this.disposables.push(
      this.collection,
      watcher,
      watcher.onDidCreate((u) => this.fileChanged(u, 'created')),
      watcher.onDidChange((u) => this.fileChanged(u, 'changed')),
      watcher.onDidDelete((u) => this.fileChanged(u, 'deleted')),
      vscode.workspace.onDidSaveTextDocument((d) => this.fileChanged(d.uri, 'changed')),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.scanWorkspace()),
    )
  }

  /** Finds every tonk.json and validates it; called once after activation (never blocks activate()). */
  async scanWorkspace(): Promise<void> {
    const manifests = await vscode.workspace.findFiles('**/tonk.json', EXCLUDE, 200)
    await Promise.all(manifests.map((m) => this.validateNow(folderOf(m))))
  }

  private fileChanged(uri: vscode.Uri, kind: 'created' | 'changed' | 'deleted'): void {
    if (uri.scheme !== 'file' || /[\\/](node_modules|\.git)[\\/]/.test(uri.fsPath)) return
    // Session data dirs (storage written on every sync) may live inside a workspace: not bundle content.
    const dataDirs = [readSettings().dataDir, this.ctx.extension.globalStorageUri.fsPath].filter(Boolean)
    if (dataDirs.some((d) => uri.fsPath.startsWith(d))) return
    if (uri.path.endsWith('/tonk.json')) {
      const folder = folderOf(uri)
      if (kind === 'deleted') {
        this.folders.delete(folder)
        this.collection.delete(uri)
        return
      }
      this.schedule(folder)
      return
    }
    // A file inside a bundle folder (or the folder itself) changed: its files list may be stale now.
    for (const folder of this.folders) {
      if (uri.fsPath === folder || uri.fsPath.startsWith(folder + '/') || uri.fsPath.startsWith(folder + '\\')) this.schedule(folder)
    }
  }

  private schedule(folder: string): void {
    clearTimeout(this.timers.get(folder))
    this.timers.set(
      folder,
      setTimeout(() => {
        this.timers.delete(folder)
        void this.validateNow(folder)
      }, DEBOUNCE_MS),
    )
  }

  /** Validates one bundle folder and replaces its diagnostics; runs are serialized per folder. */
  validateNow(folder: string): Promise<void> {
    const previous = this.running.get(folder) ?? Promise.resolve()
    const next = previous.then(() => this.validate(folder))
    this.running.set(folder, next)
    void next.finally(() => {
      if (this.running.get(folder) === next) this.running.delete(folder)
    })
    return next
  }

  private async validate(folder: string): Promise<void> {
    const manifest = vscode.Uri.file(`${folder}/tonk.json`)
    this.folders.add(folder)
    try {
      const report = await loadEngine().validateDirectory(folder)
      // The file's text, which validateDirectory read (an open editor's model can lag behind the file).
      let text: string
      try {
        text = await readFile(manifest.fsPath, 'utf8')
      } catch {
        this.folders.delete(folder)
        this.collection.delete(manifest)
        return
      }
      const lines = lineStarts(text)
      const diagnostics = placeIssues(text, report.issues).map((p) => {
        const d = new vscode.Diagnostic(
          new vscode.Range(position(lines, p.start), position(lines, p.end)),
          p.issue.message,
          p.issue.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
        )
        d.code = p.issue.code
        d.source = DIAGNOSTIC_SOURCE
        return d
      })
      this.collection.set(manifest, diagnostics)
      this.ctx.log.debug(`diagnostics ${vscode.workspace.asRelativePath(manifest)}: ${diagnostics.length}`)
    } catch (err) {
      this.ctx.log.error(`validating ${folder} failed: ${(err as Error).stack ?? err}`)
    }
    this.changeEmitter.fire(manifest)
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t)
    for (const d of this.disposables) d.dispose()
    this.changeEmitter.dispose()
  }
}

export function folderOf(manifest: vscode.Uri): string {
  return vscode.Uri.joinPath(manifest, '..').fsPath.replace(/[\\/]$/, '')
}

function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return starts
}

function position(starts: number[], offset: number): vscode.Position {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return new vscode.Position(lo, offset - starts[lo]!)
}
