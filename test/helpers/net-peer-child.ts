// A peer in its own process, for restart tests: `tsx net-peer-child.ts <dataDir> <bindAddr>`.
// Prints {"id","ticket","port"} as its first stdout line. stdin commands: `find <url>` prints the
// document as JSON whenever it changes. SIGTERM: clean shutdown.
import { createInterface } from 'node:readline'
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { closeEndpoint, createEndpoint, endpointTicket } from '../../src/core/net/endpoint'
import { IrohNetworkAdapter } from '../../src/core/net/iroh-adapter'
import { assertIsolated } from './ensure-isolated'
import { TEST_KEY, testHello } from './net-fixtures'

assertIsolated()
await initAutomerge()
const [dataDir, bindAddr] = process.argv.slice(2)
const endpoint = await createEndpoint({ dataDir, bindAddr })
const adapter = new IrohNetworkAdapter({ endpoint, hello: testHello({ peerName: 'child' }), handshakeKey: TEST_KEY })
const repo = new Repo({ network: [adapter], peerId: 'bob' as PeerId })
const port = endpoint.boundSockets().find((s) => s.startsWith('127.0.0.1:'))!.split(':')[1]
console.log(JSON.stringify({ id: endpoint.id().toString(), ticket: endpointTicket(endpoint), port }))

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [cmd, arg] = line.trim().split(' ')
  if (cmd === 'find') {
    // The parent sees the connection before this side's Repo has the peer; a find in that gap is
    // "unavailable" at once, so ask again until the peer answers (or the parent gives up).
    let handle
    for (let attempt = 0; !handle; attempt++) {
      try {
        handle = await repo.find(arg as AutomergeUrl)
      } catch (err) {
        if (attempt >= 100) throw err
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const show = () => console.log(JSON.stringify({ doc: handle.doc() }))
    show()
    handle.on('change', show)
  }
})

process.on('SIGTERM', async () => {
  adapter.disconnect()
  await closeEndpoint(endpoint)
  process.exit(0)
})
