// A repository's .vscode/settings.json cannot point the session somewhere else: with tonk.bridge,
// tonk.dataDir and the DHT set there, a session starts with none of them and the test's WebSocket
// server (on loopback, in the test namespace) gets no connection; the same bridge in user settings does
// get one, which shows the check can fail. Runs last of the suite (file name order): the workspace is
// also the bundle folder, and the .vscode folder is removed again at the end.
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as vscode from 'vscode'
import { WebSocketServer } from 'ws'
import { printLogOnFailure, tempDir, tonkApi, waitFor, workspaceUri } from './helpers'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('workspace settings cannot exfiltrate', function () {
  this.timeout(90_000)
  printLogOnFailure()
  const config = () => vscode.workspace.getConfiguration('tonk')
  const vscodeDir = join(workspaceUri().fsPath, '.vscode')
  let server: WebSocketServer
  let url = ''
  const connections: string[] = []

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/sync`
    server.on('connection', (_socket, req) => connections.push(req.url ?? ''))
  })

  after(async () => {
    await vscode.commands.executeCommand('tonk.stopSession')
    await config().update('bridge', undefined, vscode.ConfigurationTarget.Global)
    rmSync(vscodeDir, { recursive: true, force: true })
    for (const client of server.clients) client.terminate()
    await new Promise((r) => server.close(r))
  })

  it('ignores tonk.bridge, tonk.dataDir and the DHT from .vscode/settings.json', async () => {
    const shared = tempDir('shared-data-dir')
    mkdirSync(vscodeDir, { recursive: true })
    writeFileSync(join(vscodeDir, 'settings.json'), JSON.stringify({
      'tonk.bridge': url,
      'tonk.dataDir': shared,
      'tonk.discovery.dht': true,
      'tonk.discovery.dhtBootstrap': ['127.0.0.1:1'],
      // Window-scoped, so a workspace may set it: shows that VS Code has read the file.
      'tonk.logLevel': 'debug',
    }, null, 2))
    await waitFor('VS Code to read .vscode/settings.json', () => config().inspect('logLevel')?.workspaceValue === 'debug', 20_000)
    console.log(`inspect(tonk.bridge) with the workspace file: ${JSON.stringify(config().inspect('bridge'))}`)

    assert.ok(await vscode.commands.executeCommand('tonk.startSession', workspaceUri()))
    const session = (await tonkApi()).sessions.current!
    assert.equal(session.options.bridge, undefined)
    assert.ok(!session.options.dataDir.startsWith(shared), session.options.dataDir)
    assert.equal(session.options.discovery?.dht, false)
    assert.ok(!(await session.call('discoverySources')).includes('bridge'))
    // BridgeAdapter connects as the Repo starts; give a wrong one time to show up.
    await sleep(3000)
    assert.deepEqual(connections, [], 'the workspace bridge got a connection')
  })

  it('uses the same tonk.bridge from user settings (the server does see that session)', async () => {
    await config().update('bridge', url, vscode.ConfigurationTarget.Global)
    assert.ok(await vscode.commands.executeCommand('tonk.startSession', workspaceUri()))
    const session = (await tonkApi()).sessions.current!
    assert.equal(session.options.bridge, url)
    await waitFor('a connection to the test WebSocket server', () => connections.length > 0, 20_000)
    assert.equal(connections[0], '/sync')
  })
})
