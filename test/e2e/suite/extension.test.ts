// First real-VS-Code cases: the extension is installed (in development mode), activates, and registers
// its commands. Runs inside the extension host with the real `vscode` API; see docs/testing-in-vscode.md.
import assert from 'node:assert/strict'
import * as vscode from 'vscode'

const EXTENSION_ID = 'tonk.tonk-p2p'

/** Commands the extension must register once active (they are also contributed in package.json). */
const REQUIRED_COMMANDS = ['tonk.validateManifest', 'tonk.packBundle']

describe('Tonk P2P extension', () => {
  it('is present', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)
    assert.ok(ext, `${EXTENSION_ID} is not among ${vscode.extensions.all.length} extensions`)
    assert.equal(ext.packageJSON.publisher, 'tonk')
  })

  it('opens a workspace that contains a tonk.json', async () => {
    const folders = vscode.workspace.workspaceFolders ?? []
    assert.equal(folders.length, 1, 'the runner opens exactly one workspace folder')
    const manifests = await vscode.workspace.findFiles('**/tonk.json', '**/node_modules/**', 5)
    assert.ok(manifests.length >= 1, 'no tonk.json in the workspace')
  })

  it('activates', async function () {
    this.timeout(30_000)
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!
    await ext.activate()
    assert.equal(ext.isActive, true)
  })

  it('contributes its commands in package.json', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!
    const contributed = (ext.packageJSON.contributes?.commands ?? []).map((c: { command: string }) => c.command)
    for (const id of REQUIRED_COMMANDS) assert.ok(contributed.includes(id), `${id} is not contributed`)
  })

  it('registers its commands', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate()
    const registered = new Set(await vscode.commands.getCommands(true))
    const missing = REQUIRED_COMMANDS.filter((id) => !registered.has(id))
    assert.deepEqual(missing, [], `not registered after activation: ${missing.join(', ')}`)
  })
})
