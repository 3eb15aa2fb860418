// automerge-repo's own network adapter acceptance suite, on real iroh endpoints over loopback.
// `vitest` is mapped to test/helpers/vitest-shim.ts by test/helpers/register-vitest-shim.mjs.
// The suite imports automerge-repo's dist directly: import it (and start the WASM) first.
import type { PeerId } from '@automerge/automerge-repo/slim'
import '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { assertIsolated } from '../helpers/ensure-isolated'
import { eventually, makePeer, type TestPeer } from '../helpers/net-fixtures'

await initAutomerge()
const { runNetworkAdapterTests } = await import('@automerge/automerge-repo/helpers/tests/network-adapter-tests.js')

/**
 * The suite gives a Repo 50 ms to connect before asking for a document, and a document asked for
 * with no peer connected is unavailable at once. So set the QUIC connections up before the Repos
 * exist (the adapter parks them until connect()), as a Session does while its storage loads.
 */
async function transportsUp(peers: TestPeer[]): Promise<void> {
  await eventually(
    () => peers.every((p) => p.adapter.peerInfos().filter((i) => i.state === 'standby').length === peers.length - 1),
    10_000,
    'QUIC connections between all peers',
  )
}

describe('IrohNetworkAdapter: automerge-repo conformance', function () {
  before(assertIsolated)
  // Warm the JIT and the binding so the first test does not measure module loading.
  before(async () => {
    const [a, b] = await Promise.all([makePeer(), makePeer()])
    const connected = new Promise((r) => b.adapter.once('peer-candidate', r))
    a.adapter.connect('warm-a' as PeerId)
    b.adapter.connect('warm-b' as PeerId)
    a.adapter.dial(b.ticket)
    await connected
    await Promise.all([a.close(), b.close()])
  })
  const all: TestPeer[] = []
  // The suite does not await its teardowns; close whatever is left once it is done.
  after(async () => {
    await Promise.all(all.map((p) => p.close()))
  })

  runNetworkAdapterTests(async () => {
    const peers = await Promise.all([makePeer(), makePeer(), makePeer()])
    all.push(...peers)
    // Every pair dials each other, so the suite also exercises duplicate-connection resolution.
    for (const p of peers) p.adapter.listen()
    for (const p of peers) for (const q of peers) if (p !== q) p.adapter.dial(q.ticket)
    await transportsUp(peers)
    return {
      adapters: [peers[0]!.adapter, peers[1]!.adapter, peers[2]!.adapter],
      teardown: () => {
        for (const p of peers) void p.close()
      },
    }
  }, 'iroh, all peers dialing each other')

  runNetworkAdapterTests(async () => {
    const peers = await Promise.all([makePeer(), makePeer(), makePeer()])
    all.push(...peers)
    // Each pair dialed once, in one direction.
    for (const p of peers) p.adapter.listen()
    peers[0]!.adapter.dial(peers[1]!.ticket)
    peers[0]!.adapter.dial(peers[2]!.ticket)
    peers[1]!.adapter.dial(peers[2]!.ticket)
    await transportsUp(peers)
    return {
      adapters: [peers[0]!.adapter, peers[1]!.adapter, peers[2]!.adapter],
      teardown: () => {
        for (const p of peers) void p.close()
      },
    }
  }, 'iroh, one-way dials')
})
