// Manifest tools in a real VS Code: Problems-panel diagnostics for a broken tonk.json (at the right
// range), the "Recompute files and bundleId" quick fix repairing a stale manifest, and diagnostics that
// follow a file of the bundle being deleted. The workspace's tonk.json is restored afterwards.
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as vscode from 'vscode'
import { printLogOnFailure, tonkApi, waitFor, workspaceUri } from './helpers'

const tonkDiagnostics = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'tonk')

describe('manifest diagnostics and quick fixes', function () {
  this.timeout(60_000)
  const manifest = () => vscode.Uri.joinPath(workspaceUri(), 'tonk.json')
  let original: string
  printLogOnFailure()

  before(async () => {
    await tonkApi()
    original = readFileSync(manifest().fsPath, 'utf8')
  })

  after(async () => {
    writeFileSync(manifest().fsPath, original)
    await (await tonkApi()).diagnostics.validateNow(workspaceUri().fsPath)
  })

  /** Writes tonk.json on disk and waits until the extension re-validated it. */
  async function writeManifest(json: unknown): Promise<vscode.Diagnostic[]> {
    const text = typeof json === 'string' ? json : JSON.stringify(json, null, 2) + '\n'
    writeFileSync(manifest().fsPath, text)
    const api = await tonkApi()
    await api.diagnostics.validateNow(workspaceUri().fsPath)
    return tonkDiagnostics(manifest())
  }

  it('has no tonk diagnostics for the valid example', async () => {
    const api = await tonkApi()
    await api.diagnostics.validateNow(workspaceUri().fsPath)
    assert.deepEqual(tonkDiagnostics(manifest()).map((d) => d.message), [])
  })

  it('underlines an unknown field and a missing entrypoint where they are', async () => {
    const json = JSON.parse(original)
    json.colour = 'blue'
    const errors = await writeManifest(json)
    const unknown = errors.find((d) => d.message.includes('unknown field'))
    assert.ok(unknown, `diagnostics: ${errors.map((d) => d.message).join(' | ')}`)
    assert.equal(unknown.severity, vscode.DiagnosticSeverity.Error)
    assert.equal(unknown.code, 'E_SCHEMA')
    const text = readFileSync(manifest().fsPath, 'utf8')
    const line = text.split('\n')[unknown.range.start.line]!
    assert.equal(line.slice(unknown.range.start.character, unknown.range.end.character), '"colour"')

    delete json.colour
    json.entrypoints = ['/missing.html']
    const missing = (await writeManifest(json)).find((d) => d.code === 'E_ENTRYPOINT_MISSING')
    assert.ok(missing)
    const text2 = readFileSync(manifest().fsPath, 'utf8')
    const line2 = text2.split('\n')[missing.range.start.line]!
    assert.equal(line2.slice(missing.range.start.character, missing.range.end.character), '"/missing.html"')
  })

  it('reports invalid JSON at the syntax error', async () => {
    const diags = await writeManifest('{\n  "name": "my-world",\n  oops\n}\n')
    const d = diags.find((x) => x.code === 'E_MANIFEST_JSON')
    assert.ok(d, diags.map((x) => x.message).join(' | '))
    assert.equal(d.range.start.line, 2)
  })

  it('warns about a stale bundleId and files list, and the quick fix recomputes them', async () => {
    const json = JSON.parse(original)
    json.sync.bundleId = '0'.repeat(64)
    json.files = [{ path: '/index.html', length: 1, contentType: 'text/html; charset=utf-8' }]
    const diags = await writeManifest(json)
    const codes = diags.map((d) => d.code)
    assert.ok(codes.includes('E_BUNDLE_ID_STALE'), codes.join(','))
    assert.ok(codes.includes('E_FILES_STALE'), codes.join(','))
    assert.ok(diags.every((d) => d.severity === vscode.DiagnosticSeverity.Warning))

    const stale = diags.find((d) => d.code === 'E_BUNDLE_ID_STALE')!
    await vscode.window.showTextDocument(manifest()) // code action providers run on open documents only
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', manifest(), stale.range)
    const titles = actions.map((a) => a.title)
    assert.ok(titles.includes('Recompute files and bundleId'), titles.join(','))
    assert.ok(titles.includes('Repack bundle'), titles.join(','))
    const fix = actions.find((a) => a.title === 'Recompute files and bundleId')!
    assert.equal(await vscode.commands.executeCommand(fix.command!.command, ...(fix.command!.arguments ?? [])), true)

    const api = await tonkApi()
    await api.diagnostics.validateNow(workspaceUri().fsPath)
    assert.deepEqual(tonkDiagnostics(manifest()).map((d) => d.message), [])
    const fixed = JSON.parse(readFileSync(manifest().fsPath, 'utf8'))
    assert.match(fixed.sync.bundleId, /^[0-9a-f]{64}$/)
    assert.notEqual(fixed.sync.bundleId, '0'.repeat(64))
    assert.ok(fixed.files.some((f: { path: string }) => f.path === '/app.js'))
    assert.equal(fixed.description, json.description, 'other fields are kept')
  })

  it('follows the folder: deleting a listed file makes files stale without touching tonk.json', async () => {
    const api = await tonkApi()
    const extra = vscode.Uri.joinPath(workspaceUri(), 'extra.txt')
    writeFileSync(extra.fsPath, 'temporary\n')
    await vscode.commands.executeCommand('tonk.recomputeManifest', manifest())
    await api.diagnostics.validateNow(workspaceUri().fsPath)
    assert.deepEqual(tonkDiagnostics(manifest()).map((d) => d.message), [])
    rmSync(extra.fsPath)
    // The file watcher re-validates by itself.
    const diags = await waitFor('a stale files warning after the delete', () => {
      const d = tonkDiagnostics(manifest())
      return d.some((x) => x.code === 'E_FILES_STALE' && x.message.includes('/extra.txt')) && d
    })
    assert.ok(diags && diags.length >= 1)
  })
})
