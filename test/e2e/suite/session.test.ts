// The P2P session in a real VS Code: started by its command on the workspace bundle, a headless CLI peer
// (a separate `tonk-p2p serve` process, real QUIC on loopback) appears in the Peers view model, its
// document in the Documents model; offline/online, disconnect, local peers, the trace, a clean stop.
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as vscode from 'vscode'
import { CliPeer, EXTENSION_ID, printLogOnFailure, runCli, tempDir, tonkApi, waitFor, workspaceUri } from './helpers'

describe('P2P session', function () {
  this.timeout(120_000)
  let peer: CliPeer | undefined
  printLogOnFailure()

  after(async () => {
    await peer?.stop()
    await vscode.commands.executeCommand('tonk.stopSession')
  })

  it('refuses a folder that is not a valid bundle: no session runs, the status bar says so', async () => {
    const api = await tonkApi()
    const broken = tempDir('broken-bundle')
    writeFileSync(join(broken, 'tonk.json'), '{"manifestVersion": 1, "name": "Not A Valid Name!"}\n')
    const result = await vscode.commands.executeCommand('tonk.startSession', vscode.Uri.file(broken))
    assert.equal(result, undefined)
    assert.equal(api.sessions.current, undefined)
    assert.match(api.status.text, /Tonk$/)
  })

  it('starts on the workspace bundle from the command (no picker with a uri argument)', async () => {
    const api = await tonkApi()
    const endpointId = await vscode.commands.executeCommand<string>('tonk.startSession', workspaceUri())
    assert.match(endpointId ?? '', /^[0-9a-f]{64}$/)
    const session = api.sessions.current
    assert.ok(session, 'sessions.current is set')
    assert.equal(session.state, 'running')
    assert.equal(session.endpointId, endpointId)
    assert.ok(api.engineLoadMs() > 0, 'the engine was loaded on first use')
    // One data dir per app (its appId), not per build: an edit keeps the documents.
    assert.ok(session.options.dataDir.includes(`${session.bundle.manifest.name}-${session.capability.appId.slice(0, 12)}`), session.options.dataDir)
    await waitFor('status bar shows 0 peers', () => api.status.text.includes('Tonk: 0 peers') && api.status.text)
  })

  it('sees a headless CLI peer connected by ticket in the Peers view model', async () => {
    const api = await tonkApi()
    const ticket = await vscode.commands.executeCommand<string>('tonk.copyTicket')
    assert.ok(ticket?.startsWith('endpoint'), `ticket: ${ticket}`)
    assert.equal(await vscode.env.clipboard.readText(), ticket)
    peer = await CliPeer.start(workspaceUri().fsPath, 'cli-peer', ticket)
    const row = await waitFor('cli-peer connected in the Peers view', () =>
      api.peersModel.roots().find((n) => n.label.includes('cli-peer') && n.contextValue === 'tonk.peer.connected'),
    )
    assert.ok(row.label.startsWith(peer.ready!.endpointId.slice(0, 10)), row.label)
    assert.match(row.description ?? '', /direct \S+:\d+/)
    assert.match(row.tooltip ?? '', /found by \| (ticket|incoming|mdns|exchange)/)
    await waitFor('status bar shows 1 peer', () => api.status.text.includes('1 peer'))
  })

  it('copies a join link that carries the ticket, for this editor scheme', async () => {
    const ticket = await vscode.commands.executeCommand<string>('tonk.copyTicket')
    const link = await vscode.commands.executeCommand<string>('tonk.copyJoinLink')
    assert.equal(await vscode.env.clipboard.readText(), link)
    const uri = vscode.Uri.parse(link!)
    assert.equal(uri.scheme, vscode.env.uriScheme)
    assert.equal(uri.authority, EXTENSION_ID)
    assert.equal(uri.path, '/join')
    assert.equal(new URLSearchParams(uri.query).get('ticket'), ticket)
  })

  it('shows a document the CLI peer writes in the Documents view model', async () => {
    const api = await tonkApi()
    const put = await runCli(['doc', 'put', '/e2e/from-cli', JSON.stringify({ hello: 'from the CLI peer' }), '--data', peer!.dataDir])
    assert.equal(put.code, 0, put.stderr)
    const docs = await waitFor('/e2e/from-cli in the Documents model, with heads', () =>
      api.documentsModel.documents().find((d) => d.path === '/e2e/from-cli' && d.heads.length > 0),
    )
    assert.equal(docs.type, 'doc')
    const [root] = api.documentsModel.roots()
    assert.equal(root?.label, '/', 'the root directory is the top row')
    const dir = root!.children?.find((n) => n.label === 'e2e')
    assert.ok(dir, 'the e2e directory is a row')
    const leaf = dir.children?.find((n) => n.label === 'from-cli')
    assert.ok(leaf, 'from-cli is a child of e2e')
    assert.equal(leaf.contextValue, 'tonk.doc')
    assert.equal(leaf.command?.command, 'tonk.openDocumentInspector')
    // The row names its session, so the inspector opens on it when several bundles run.
    const sessionId = api.sessions.of(api.sessions.current!)?.id
    assert.match(sessionId ?? '', /^my-world-/)
    assert.deepEqual(leaf.command?.arguments, [{ url: docs.url, path: '/e2e/from-cli', sessionId }])
    // The peer's row lists the document's sync state once it has our heads.
    await waitFor('cli-peer in sync on /e2e/from-cli', () =>
      api.peersModel.roots().find((n) => n.label.includes('cli-peer'))?.children?.some((c) => c.label === '/e2e/from-cli' && c.description === 'in sync'),
    )
  })

  it('goes offline and online again', async () => {
    const api = await tonkApi()
    assert.equal(await vscode.commands.executeCommand('tonk.goOffline'), true)
    await waitFor('offline snapshot', () => api.sessions.snapshot?.online === false)
    assert.match(api.status.text, /offline/)
    await waitFor('cli-peer no longer connected', () =>
      !api.peersModel.roots().some((n) => n.label.includes('cli-peer') && n.contextValue === 'tonk.peer.connected'),
    )
    assert.equal(await vscode.commands.executeCommand('tonk.goOnline'), true)
    await waitFor('cli-peer connected again', () =>
      api.peersModel.roots().some((n) => n.label.includes('cli-peer') && n.contextValue === 'tonk.peer.connected'),
    )
  })

  it('disconnects a peer from its row', async () => {
    const api = await tonkApi()
    const row = api.peersModel.roots().find((n) => n.label.includes('cli-peer'))!
    const id = await vscode.commands.executeCommand<string>('tonk.disconnectPeer', row)
    assert.equal(id, peer!.ready!.endpointId)
    await waitFor('cli-peer disconnected event on the CLI side', () => peer!.events.some((e) => e.event === 'peer-disconnected'))
    // It stays disconnected: the CLI peer's redials are refused (E_DISCONNECTED) until we dial it again.
    await new Promise((r) => setTimeout(r, 3000))
    assert.ok(!api.peersModel.roots().some((n) => n.label.includes('cli-peer') && n.contextValue === 'tonk.peer.connected'), 'no redial within 3 s')
    assert.equal(await vscode.commands.executeCommand('tonk.connectPeer', peer!.ready!.ticket), peer!.ready!.endpointId)
    await waitFor('cli-peer connected again after Connect', () =>
      api.peersModel.roots().some((n) => n.label.includes('cli-peer') && n.contextValue === 'tonk.peer.connected'),
    )
  })

  it('refuses a bad ticket without dialing', async () => {
    const before = (await tonkApi()).sessions.snapshot?.peers.length
    assert.equal(await vscode.commands.executeCommand('tonk.connectPeer', 'endpointnot-a-ticket'), undefined)
    assert.equal((await tonkApi()).sessions.snapshot?.peers.length, before)
  })

  it('starts two local peers that connect, and stops them', async () => {
    const api = await tonkApi()
    const peers = await vscode.commands.executeCommand<{ name: string; endpointId: string; dataDir: string }[]>('tonk.startLocalPeers', 2)
    assert.equal(peers?.length, 2)
    assert.deepEqual(peers.map((p) => p.name).sort(), ['local-1', 'local-2'])
    assert.notEqual(peers[0]!.endpointId, peers[1]!.endpointId, 'each has its own identity')
    const dataDir = api.sessions.current!.options.dataDir
    for (const p of peers) assert.ok(p.dataDir.startsWith(`${dataDir}/local-peers/`), p.dataDir)
    await waitFor('both local peers connected', () =>
      ['local-1', 'local-2'].every((name) => api.peersModel.roots().some((n) => n.label.includes(name) && n.contextValue === 'tonk.peer.connected')),
    )
    const pids = api.localPeers.list.map((p) => p.pid!)
    await vscode.commands.executeCommand('tonk.stopLocalPeers')
    assert.equal(api.localPeers.runningCount, 0)
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'the local peer process is gone')
  })

  it('shows the sync trace as a tonk-trace document that grows while it is open', async () => {
    const api = await tonkApi()
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('tonk.showSyncTrace')
    assert.equal(editor.document.languageId, 'tonk-trace')
    const text = editor.document.getText()
    assert.match(text, /^# Tonk sync trace: /)
    assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} (->|<-) [0-9a-f]{10} \S+ (sync|request|remote-heads-changed|remote-subscription-change|ephemeral|doc-unavailable) /m)
    // A change here reaches the CLI peer: its sync messages are appended live.
    await waitFor('cli-peer connected again', () =>
      api.peersModel.roots().some((n) => n.label.includes('cli-peer') && n.contextValue === 'tonk.peer.connected'),
    )
    const docUrl = await api.sessions.current!.writeDoc('/e2e/from-editor', { written: 'in VS Code' })
    const documentId = docUrl.replace('automerge:', '')
    // By its path once the session has walked it, by its id before.
    await waitFor('a trace line about /e2e/from-editor', () => editor.document.getText().includes(documentId) || / \/e2e\/from-editor \d+ B$/m.test(editor.document.getText()), 15_000)
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor')
  })

  it('stops cleanly: no session, data dir unlocked, views empty', async () => {
    const api = await tonkApi()
    const session = api.sessions.current
    assert.ok(session)
    const dataDir = session.options.dataDir
    const [local] = (await vscode.commands.executeCommand<{ pid: number }[]>('tonk.startLocalPeers', 1)) ?? []
    assert.ok(local?.pid, 'a local peer runs')
    assert.equal(await vscode.commands.executeCommand('tonk.stopSession'), true)
    assert.equal(api.sessions.current, undefined)
    assert.deepEqual(api.peersModel.roots(), [])
    assert.deepEqual(api.documentsModel.roots(), [])
    assert.ok(!existsSync(`${dataDir}/control.sock`), 'control socket removed')
    assert.equal(api.localPeers.runningCount, 0, 'local peers stop with the session')
    assert.throws(() => process.kill(local.pid, 0), 'the local peer process is gone')
    await waitFor('cli-peer sees the session gone', () => peer!.events.filter((e) => e.event === 'peer-disconnected').length >= 1)
    // A restart (same window) reuses the data dir: same identity.
    const first = api.sessions.lastBundle
    assert.ok(first)
    const again = await vscode.commands.executeCommand<string>('tonk.startSession', workspaceUri())
    assert.ok(again)
    const restarted = (await tonkApi()).sessions.current
    assert.equal(restarted?.endpointId, session.endpointId, 'same identity after a restart')
    await vscode.commands.executeCommand('tonk.stopSession')
  })

  it('starts from a packed .zip (Pack Bundle) as the same bundle, and stops', async () => {
    const api = await tonkApi()
    const folderSession = await vscode.commands.executeCommand<string>('tonk.startSession', workspaceUri())
    assert.ok(folderSession)
    const folderBundleId = api.sessions.current!.bundle.bundleId
    const zip = vscode.Uri.file(join(tempDir('packed'), 'my-world.zip'))
    const written = await vscode.commands.executeCommand<vscode.Uri>('tonk.packBundle', workspaceUri(), zip)
    assert.equal(written?.fsPath, zip.fsPath)
    assert.ok(await vscode.commands.executeCommand('tonk.startSession', zip), 'Start on a running session restarts it')
    const session = api.sessions.current!
    assert.equal(session.bundle.bundleId, folderBundleId, 'a folder packed in memory and its zip are one bundle')
    assert.equal(api.sessions.bundle?.candidate.kind, 'zip')
    assert.equal(await api.sessions.bundle!.zipPath(), zip.fsPath, 'local peers serve the zip itself')
    await vscode.commands.executeCommand('tonk.stopSession')
    assert.equal(api.sessions.current, undefined)
  })
})
