// The preview's PostMessageNetworkAdapter pair, as real automerge-repo Repos use it: two (or three)
// Repos in one process over an in-memory channel that behaves like postMessage (asynchronous, in order,
// structured-cloned, validated by the same frame parser the host and the page use).
import assert from 'node:assert/strict'
import { cbor, Repo, type PeerId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import type { AdapterFrame } from '../../src/protocol/preview'
import { PostMessageNetworkAdapter } from '../../src/shared/postmessage-adapter'
import { channelPair } from '../helpers/frame-channel'

await initAutomerge()
const { runNetworkAdapterTests } = await import('@automerge/automerge-repo/helpers/tests/network-adapter-tests.js')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

describe('webview PostMessageNetworkAdapter', () => {
  const repos: Repo[] = []
  const repo = (config: ConstructorParameters<typeof Repo>[0]) => {
    const r = new Repo(config)
    repos.push(r)
    return r
  }
  afterEach(async () => {
    await Promise.allSettled(repos.splice(0).map((r) => r.shutdown()))
  })

  it('syncs a host document to a page repo and edits both ways', async () => {
    const [hostEnd, pageEnd] = channelPair()
    const host = repo({ network: [new PostMessageNetworkAdapter(hostEnd)], peerId: 'host' as PeerId })
    const handle = host.create<{ places: Record<string, string> }>({ places: { a: 'Lisbon' } })
    const pageAdapter = new PostMessageNetworkAdapter(pageEnd)
    const page = repo({ network: [pageAdapter], peerId: 'page' as PeerId })
    assert.equal(await pageAdapter.whenPeer(), 'host')

    const pageHandle = await page.find<{ places: Record<string, string> }>(handle.url)
    assert.deepEqual(pageHandle.doc().places, { a: 'Lisbon' })

    pageHandle.change((d) => void (d.places.b = 'Kyoto'))
    await eventually(() => handle.doc().places.b === 'Kyoto', 'the page edit on the host')
    handle.change((d) => void (d.places.c = 'Quito'))
    await eventually(() => pageHandle.doc().places.c === 'Quito', 'the host edit in the page')
    // Every message on the wire was one CBOR frame.
    const messages = [...hostEnd.sent, ...pageEnd.sent].filter((f) => f.kind === 'message')
    assert.ok(messages.length > 0)
    for (const f of messages) {
      assert.ok(f.kind === 'message' && (cbor.decode(f.bytes) as { type?: string }).type)
      // Not a Node Buffer: VS Code's webview postMessage transfers typed arrays by constructor name only.
      assert.equal(f.bytes.constructor, Uint8Array)
    }
  })

  it('is ready with zero peers, and connects whichever side comes first', async () => {
    const [hostEnd, pageEnd] = channelPair()
    const pageAdapter = new PostMessageNetworkAdapter(pageEnd)
    const page = repo({ network: [pageAdapter], peerId: 'page' as PeerId })
    await pageAdapter.whenReady()
    assert.equal(pageAdapter.isReady(), true)
    assert.equal(pageAdapter.remotePeerId, undefined)
    await sleep(20)
    // The host comes later (its arrive is answered with a welcome).
    const hostAdapter = new PostMessageNetworkAdapter(hostEnd)
    const host = repo({ network: [hostAdapter], peerId: 'host' as PeerId })
    assert.equal(await pageAdapter.whenPeer(), 'host')
    assert.equal(await hostAdapter.whenPeer(), 'page')
    const handle = host.create({ n: 1 })
    const found = await page.find<{ n: number }>(handle.url)
    assert.equal(found.doc().n, 1)
  })

  it('removing the host adapter says leave, disconnects the peer and sends nothing afterwards', async () => {
    const [hostEnd, pageEnd] = channelPair()
    const hostAdapter = new PostMessageNetworkAdapter(hostEnd)
    const host = repo({ network: [], peerId: 'host' as PeerId })
    host.networkSubsystem.addNetworkAdapter(hostAdapter)
    const handle = host.create({ n: 1 })
    const pageAdapter = new PostMessageNetworkAdapter(pageEnd)
    const page = repo({ network: [pageAdapter], peerId: 'page' as PeerId })
    await pageAdapter.whenPeer() // a find() with no peer yet is "unavailable" at once: the shim waits too
    const pageHandle = await page.find<{ n: number }>(handle.url)
    const pageLostHost = new Promise((resolve) => pageAdapter.once('peer-disconnected', resolve))

    host.networkSubsystem.removeNetworkAdapter(hostAdapter)
    assert.deepEqual(await pageLostHost, { peerId: 'host' })
    assert.equal(hostEnd.sent.at(-1)?.kind, 'leave')
    const sentBefore = hostEnd.sent.length
    handle.change((d) => void (d.n = 2))
    pageHandle.change((d) => void (d.n = 3))
    await sleep(300) // past automerge-repo's sync throttle
    assert.equal(hostEnd.sent.length, sentBefore, 'the host adapter posted after it was removed')
    assert.equal(handle.doc().n, 2)
    assert.equal(pageHandle.doc().n, 3)
  })

  it('a reloaded page (a new peer id) replaces the old one and syncs again', async () => {
    const [hostEnd, pageEnd] = channelPair()
    const hostAdapter = new PostMessageNetworkAdapter(hostEnd)
    const host = repo({ network: [hostAdapter], peerId: 'host' as PeerId })
    const handle = host.create({ n: 1 })
    const firstAdapter = new PostMessageNetworkAdapter(pageEnd)
    const first = repo({ network: [firstAdapter], peerId: 'page-1' as PeerId })
    await firstAdapter.whenPeer()
    await first.find(handle.url)
    const gone = new Promise((resolve) => hostAdapter.once('peer-disconnected', resolve))
    // The old page vanishes without a word (a webview is torn down); a new one arrives on the same link.
    const secondAdapter = new PostMessageNetworkAdapter(pageEnd)
    const second = repo({ network: [secondAdapter], peerId: 'page-2' as PeerId })
    assert.deepEqual(await gone, { peerId: 'page-1' })
    await secondAdapter.whenPeer()
    const again = await second.find<{ n: number }>(handle.url)
    handle.change((d) => void (d.n = 5))
    await eventually(() => again.doc().n === 5, 'the change in the reloaded page')
    assert.equal(hostAdapter.remotePeerId, 'page-2')
  })

  it('drops malformed frames and messages not addressed between the two peers', async () => {
    const [hostEnd, pageEnd] = channelPair()
    const drops: string[] = []
    const hostAdapter = new PostMessageNetworkAdapter(hostEnd, { onDrop: (r) => drops.push(r) })
    const host = repo({ network: [hostAdapter], peerId: 'host' as PeerId })
    const handle = host.create({ n: 1 })
    const pageAdapter = new PostMessageNetworkAdapter(pageEnd)
    const page = repo({ network: [pageAdapter], peerId: 'page' as PeerId })
    await pageAdapter.whenPeer()
    await page.find(handle.url)
    const received: Array<{ senderId: string; targetId: string }> = []
    hostAdapter.on('message', (m) => received.push(m))

    hostEnd.inject({ kind: 'message', bytes: 'not bytes' }) // refused by the frame parser
    hostEnd.inject({ kind: 'nonsense' })
    hostEnd.inject({ kind: 'message', bytes: new Uint8Array([0xff, 0xff, 0xff]) })
    hostEnd.inject({ kind: 'message', bytes: cbor.encode({ hello: 'world' }) })
    hostEnd.inject({ kind: 'message', bytes: cbor.encode({ type: 'sync', senderId: 'mallory', targetId: 'host', documentId: handle.documentId, data: new Uint8Array(1) }) })
    hostEnd.inject({ kind: 'message', bytes: cbor.encode({ type: 'sync', senderId: 'page', targetId: 'someone-else', documentId: handle.documentId, data: new Uint8Array(1) }) })
    hostEnd.inject({ kind: 'welcome', peerId: 'host', peerMetadata: {} })
    await eventually(() => drops.length >= 5, 'five drops')
    assert.deepEqual(received.filter((m) => m.senderId !== 'page' || m.targetId !== 'host'), [])
    assert.equal(drops.length, 5, drops.join('; '))
    assert.match(drops.join('\n'), /undecodable/)
    assert.match(drops.join('\n'), /from mallory to host/)
    assert.match(drops.join('\n'), /our own peer id/)
    // The link still works.
    handle.change((d) => void (d.n = 7))
    const pageHandle = await page.find<{ n: number }>(handle.url)
    await eventually(() => pageHandle.doc().n === 7, 'a change after the garbage')
  })

  // automerge-repo's acceptance suite: alice is a hub with one adapter per link (like the host with
  // several preview panels), bob and charlie one adapter each.
  runNetworkAdapterTests(async () => {
    const [ab, ba] = channelPair()
    const [ac, ca] = channelPair()
    return {
      adapters: [
        [new PostMessageNetworkAdapter(ab), new PostMessageNetworkAdapter(ac)],
        new PostMessageNetworkAdapter(ba),
        new PostMessageNetworkAdapter(ca),
      ],
    }
  }, 'postMessage pair, star')
})
