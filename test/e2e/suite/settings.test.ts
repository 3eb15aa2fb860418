// Settings reach the session: peer name, frame limit, discovery sources and the bridge are read at start.
// User (global) settings: a workspace .vscode/settings.json would become part of the packed bundle.
import assert from 'node:assert/strict'
import * as vscode from 'vscode'
import { printLogOnFailure, tonkApi, workspaceUri } from './helpers'

describe('settings', function () {
  this.timeout(60_000)
  printLogOnFailure()
  const config = () => vscode.workspace.getConfiguration('tonk')
  const changed = ['peerName', 'maxFrameBytes', 'discovery.mdns', 'discovery.dht', 'discovery.dhtBootstrap']

  after(async () => {
    await vscode.commands.executeCommand('tonk.stopSession')
    for (const key of changed) await config().update(key, undefined, vscode.ConfigurationTarget.Global)
  })

  it('starts the session with the configured peer name, frame limit and discovery sources', async () => {
    await config().update('peerName', 'editor-e2e', vscode.ConfigurationTarget.Global)
    await config().update('maxFrameBytes', 1 << 20, vscode.ConfigurationTarget.Global)
    await config().update('discovery.mdns', false, vscode.ConfigurationTarget.Global)
    await config().update('discovery.dht', true, vscode.ConfigurationTarget.Global)
    // Only ever a test address: the DHT never contacts the public routers from a test.
    await config().update('discovery.dhtBootstrap', ['127.0.0.1:1'], vscode.ConfigurationTarget.Global)
    assert.ok(await vscode.commands.executeCommand('tonk.startSession', workspaceUri()))
    const session = (await tonkApi()).sessions.current!
    assert.equal(session.peerName, 'editor-e2e')
    assert.equal(session.options.maxFrameBytes, 1 << 20)
    assert.deepEqual(session.options.discovery, { mdns: false, exchange: true, dht: { bootstrap: ['127.0.0.1:1'] } })
    assert.equal(session.options.bridge, undefined)
    assert.equal((await session.snapshot()).peerName, 'editor-e2e')
  })
})
