// The webviews in a real VS Code (extension host, real vscode API): the document inspector opens on a
// document of the running session, the bundle preview opens, extracts the verified bundle, and its page
// (the injected shim: WASM, Repo, PostMessageNetworkAdapter) connects to the session's Repo as a peer,
// which goes away with the panel.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as vscode from 'vscode'
import { printLogOnFailure, tonkApi, waitFor, workspaceUri } from './helpers'

function webviewTabs(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(viewType))
}

describe('webviews: inspector and preview', function () {
  this.timeout(120_000)
  printLogOnFailure()

  before(async () => {
    await vscode.commands.executeCommand('tonk.startSession', workspaceUri())
    assert.ok((await tonkApi()).sessions.current, 'a session runs')
  })

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors')
    await vscode.commands.executeCommand('tonk.stopSession')
  })

  it('opens the inspector on a document by path, and reveals it again instead of a second panel', async () => {
    const session = (await tonkApi()).sessions.current!
    const url = await session.writeDoc('/e2e/inspected', { title: 'inspect me', n: 1 })
    const opened = await vscode.commands.executeCommand<{ documentId: string }>('tonk.openDocumentInspector', { path: '/e2e/inspected' })
    assert.equal(`automerge:${opened?.documentId}`, url)
    await waitFor('an inspector tab', () => webviewTabs('tonk.inspector').length === 1)
    assert.equal(webviewTabs('tonk.inspector')[0]!.label, 'Inspect /e2e/inspected')
    // The Documents view passes its row (with `ref`); the same document reuses the panel.
    await vscode.commands.executeCommand('tonk.openDocumentInspector', { ref: { url, path: '/e2e/inspected' } })
    assert.equal(webviewTabs('tonk.inspector').length, 1)
  })

  it('refuses a path with nothing there (no panel, a message instead)', async () => {
    const result = await vscode.commands.executeCommand('tonk.openDocumentInspector', { path: '/e2e/nothing-here' })
    assert.equal(result, undefined)
    assert.equal(webviewTabs('tonk.inspector').length, 1)
  })

  it('opens the preview from the extracted verified bundle, and its page joins the session as a peer', async () => {
    const session = (await tonkApi()).sessions.current!
    // The engine's Repo, on its worker thread: its peers by message.
    const enginePeers = () => session.call('repoPeers')
    const before = new Set(await enginePeers())
    const result = await vscode.commands.executeCommand<{ bundleId: string }>('tonk.previewBundle')
    assert.equal(result?.bundleId, session.bundle.bundleId)
    await waitFor('a preview tab', () => webviewTabs('tonk.preview').length === 1)
    const dir = join(session.options.dataDir, 'preview', session.bundle.bundleId)
    assert.ok(existsSync(join(dir, '.tonk-preview-complete')), `${dir} is complete`)
    assert.deepEqual(readFileSync(join(dir, 'app.js')), Buffer.from(session.bundle.files.get('/app.js')!))
    // The shim ran (WASM, Repo) and its adapter said hello through postMessage. A webview boots slowly
    // on a busy CI box (one run of 2026-12-04 timed out at 30 s; the scenarios' previews passed): 60 s.
    const pagePeer = await waitFor(
      'the preview page as a peer of the session repo',
      async () => (await enginePeers()).find((p) => p.startsWith('preview-') && !before.has(p)),
      60_000,
    )
    // Closing the panel takes its adapter out of the session's Repo.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors')
    await waitFor('the page peer gone', async () => !(await enginePeers()).includes(pagePeer))
    assert.equal(webviewTabs('tonk.preview').length, 0)
  })
})
