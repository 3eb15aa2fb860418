// A peer id claimed on one adapter cannot knock a connected iroh peer out of the Repo (issue 12, 8):
// two real sessions over iroh on loopback; a page-like adapter (the preview's PostMessage adapter)
// attached to one of them announces the other's automerge peer id, sends as it, then leaves. The iroh
// peer keeps receiving changes, and the impostor's messages never reach the Repo.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Repo, type PeerId } from '@automerge/automerge-repo/slim'
import { loadBundle, packDirectory, type LoadedBundle } from '../../src/core/bundle'
import type { Session } from '../../src/core/session/session'
import { PostMessageNetworkAdapter } from '../../src/shared/postmessage-adapter'
import { startPresence } from '../../src/shared/presence'
import { repoRoot } from '../helpers/cli'
import { assertIsolated } from '../helpers/ensure-isolated'
import { channelPair } from '../helpers/frame-channel'
import { startTestSession } from '../helpers/sessions'
import { until } from '../helpers/until'


const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))])

describe('engine: automerge peer ids are held by one adapter', function () {
  this.timeout(60000)
  let dir: string
  let bundle: LoadedBundle
  const sessions: Session[] = []

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-claims-'))
    bundle = await loadBundle((await packDirectory(join(repoRoot, 'examples', 'my-world'))).zip)
  })
  after(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it("a page announcing an iroh peer's id is ignored; when it leaves, the iroh peer keeps syncing", async () => {
    const a = await startTestSession(bundle, dir, sessions, 'claims-a')
    const b = await startTestSession(bundle, dir, sessions, 'claims-b')
    // The Repo holds guards, not the adapter: the request gate (protocols/sync/request-gate.ts) must still reach it.
    assert.ok((a as unknown as { adapter: { gate?: unknown } }).adapter.gate, 'the request gate is set on the guarded iroh adapter')
    b.dial(a.ticket!)
    const url = await a.docs.writeDoc('/claims/doc', { n: 1 })
    await until('b has /claims/doc', async () => (await b.docs.readDoc<{ n: number }>('/claims/doc').catch(() => undefined))?.n === 1)

    // The impostor: a Repo whose peer id is b's, reaching a's Repo the way the preview page does.
    const [hostEnd, pageEnd] = channelPair()
    const remove = a.attachAdapter(new PostMessageNetworkAdapter(hostEnd), 'preview')
    const pageAdapter = new PostMessageNetworkAdapter(pageEnd)
    const impostor = new Repo({ network: [pageAdapter], peerId: b.repo.peerId as PeerId })
    assert.equal(await within(pageAdapter.whenPeer(), 5000), a.repo.peerId, 'the page side reached a')
    // Its request goes unanswered (dropped as not from an id it holds): find() waits, so bound it.
    const stolen = await within(impostor.find<{ n: number }>(url).catch(() => undefined), 1500)
    assert.notEqual(stolen?.doc()?.n, 1, 'the impostor got nothing under the stolen id')
    remove()
    await new Promise((r) => setTimeout(r, 300))

    await a.docs.writeDoc('/claims/doc', { n: 2 })
    await until('b still gets changes after the impostor left', async () => (await b.docs.readDoc<{ n: number }>('/claims/doc').catch(() => undefined))?.n === 2, 10000)
    impostor.shutdown().catch(() => {})
  })

  it('presence from a page reaches a peer two hops away, and leaves at once with a goodbye', async () => {
    const a = await startTestSession(bundle, dir, sessions, 'presence-a')
    const b = await startTestSession(bundle, dir, sessions, 'presence-b')
    b.dial(a.ticket!)
    await until('b sees a in presence', async () => Boolean(b.presence?.peers().some((p) => p.peerId === a.endpointId && p.kind === 'session')), 20000)

    // A page on a (as the preview is): its presence is forwarded by a's Repo with the page's own sender id.
    const [hostEnd, pageEnd] = channelPair()
    const remove = a.attachAdapter(new PostMessageNetworkAdapter(hostEnd), 'preview')
    const pageAdapter = new PostMessageNetworkAdapter(pageEnd)
    const pageRepo = new Repo({ network: [pageAdapter], peerId: 'preview-presence-test' as PeerId })
    await within(pageAdapter.whenPeer(), 5000)
    const pagePresence = startPresence(await pageRepo.find(a.root.url), { peerId: a.endpointId!, name: 'a page', kind: 'page' })
    pagePresence.set('place', 'porto')
    await until('b sees the page on a, looking at porto', async () =>
      Boolean(b.presence?.peers().some((p) => p.kind === 'page' && p.name === 'a page' && p.state.place === 'porto')), 20000)
    assert.ok(b.presence!.peers().every((p) => p.pageId !== b.repo.peerId), 'b does not list itself')

    pagePresence.stop()
    await until('b drops the page once it says goodbye', async () => !b.presence?.peers().some((p) => p.kind === 'page'), 10000)
    remove()
    await pageRepo.shutdown().catch(() => {})
  })

  it("another peer's heartbeats reach a peer two hops away in the middle peer's digests, and keep it listed", async () => {
    const a = await startTestSession(bundle, dir, sessions, 'digest-a')
    const b = await startTestSession(bundle, dir, sessions, 'digest-b')
    const c = await startTestSession(bundle, dir, sessions, 'digest-c')
    b.dial(a.ticket!)
    c.dial(b.ticket!) // a line: a and c only meet through b (no peer exchange here)
    const aSeenByC = () => c.presence?.peers().find((p) => p.peerId === a.endpointId)
    await until('c sees a in presence', async () => Boolean(aSeenByC()), 20000)
    const relayOfB = (b as unknown as { adapter: { relay: { digests: number; digestBeats: number } } }).adapter.relay
    const firstSeen = aSeenByC()!.lastSeenAt
    // a's next heartbeat (10 s after its last broadcast) goes to b, and b passes it on to c in a digest
    // (≤ 2 s later). Re-announces for the newcomer come within ~2.5 s of it: later than 5 s, a heartbeat.
    await until('a heartbeat of a reached c', async () => (aSeenByC()?.lastSeenAt ?? 0) > firstSeen + 5000, 25000)
    assert.ok(relayOfB.digests >= 1 && relayOfB.digestBeats >= 1, `b sent ${relayOfB.digests} digests`)
  })
})
