// What the Peers view is told about peers that are not connected right now, between two real sessions
// over iroh on loopback: offline (you) while we are offline, reconnecting after Go Online until the
// link is back, disconnected by you after Disconnect (their redials refused) until Reconnect.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle, packDirectory, type LoadedBundle } from '../../src/core/bundle'
import type { Session } from '../../src/core/session/session'
import { repoRoot } from '../helpers/cli'
import { assertIsolated } from '../helpers/ensure-isolated'
import { startTestSession } from '../helpers/sessions'
import { until } from '../helpers/until'


describe('engine: peer rows tell the truth (offline, reconnecting, disconnected)', function () {
  this.timeout(60000)
  let dir: string
  let bundle: LoadedBundle
  const sessions: Session[] = []
  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-peer-states-'))
    bundle = await loadBundle((await packDirectory(join(repoRoot, 'examples', 'my-world'))).zip)
  })
  after(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('offline keeps the peer listed; online shows reconnecting, then connected; Disconnect holds until Reconnect', async () => {
    const a = await startTestSession(bundle, dir, sessions, 'states-a')
    const b = await startTestSession(bundle, dir, sessions, 'states-b')
    b.dial(a.ticket!) // only b dials: a knows b from the incoming connection alone
    const stateOfB = async () => (await a.snapshot()).peers.find((p) => p.endpointId === b.endpointId)?.state
    await until('connected', async () => (await stateOfB()) === 'connected')

    await a.goOffline()
    const offline = (await a.snapshot()).peers.find((p) => p.endpointId === b.endpointId)
    assert.equal(offline?.state, 'offline', 'still listed while we are offline')
    assert.equal(offline?.name, 'states-b', 'with its name')
    await a.goOnline()
    assert.equal(await stateOfB(), 'reconnecting')
    await until('connected again', async () => (await stateOfB()) === 'connected')

    a.disconnectPeer(b.endpointId!)
    await until('disconnected', async () => (await stateOfB()) === 'disconnected')
    await new Promise((r) => setTimeout(r, 2000))
    assert.equal(await stateOfB(), 'disconnected', 'b redials, and is refused while held')
    assert.equal(a.reconnectPeer(b.endpointId!), true, 'dialed where b was last seen')
    await until('connected after Reconnect', async () => (await stateOfB()) === 'connected')
  })

  it('keyed queries answer for one peer and one document without a snapshot: peerList, syncOf, pathOf', async () => {
    const a = await startTestSession(bundle, dir, sessions, 'keyed-a')
    const b = await startTestSession(bundle, dir, sessions, 'keyed-b')
    b.dial(a.ticket!)
    await until('connected', async () => a.peerList().some((p) => p.endpointId === b.endpointId && p.state === 'connected'))
    const url = await a.docs.writeFile('/keyed/one', { n: 1 })
    const documentId = url.replace(/^automerge:/, '')
    assert.equal(await a.pathOf(url), '/keyed/one', 'a new path is found (the tree changed since the last walk)')
    assert.equal(await a.pathOf('automerge:4VdANFMe78wf7kZ3vmT2WnttpJLv'), undefined)
    const rowB = () => a.peerList().find((p) => p.endpointId === b.endpointId)!
    assert.equal(rowB().source, 'incoming')
    assert.ok(!('docs' in rowB()), 'no per-document states: nothing walked or compared')
    await until('b has a’s heads of /keyed/one', async () => a.syncOf(documentId, rowB()) === 'in-sync')
    const full = a.peers().find((p) => p.endpointId === b.endpointId)!
    assert.equal(full.docs[documentId], 'in-sync', 'the same answer as the snapshot rows')
    assert.equal(a.syncOf('4VdANFMe78wf7kZ3vmT2WnttpJLv', rowB()), 'unknown', 'a document not loaded here')
  })
})
