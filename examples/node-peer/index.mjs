// A tiny app on the public `tonk-p2p/engine` API only: a stock automerge-repo Repo with the iroh
// network adapter and crash-safe storage. Usage (inside a network namespace, see docs/library.md):
//   node index.mjs DATA_DIR                 start a peer, create a document, print ticket + doc URL
//   node index.mjs DATA_DIR TICKET DOC_URL  dial TICKET, fetch DOC_URL, add a line, print the doc
import { Repo } from '@automerge/automerge-repo/slim'
import {
  CrashSafeStorageAdapter, IrohNetworkAdapter, closeEndpoint, createEndpoint, deriveKey, endpointTicket, initAutomerge,
} from 'tonk-p2p/engine'

const [dataDir, ticket, docUrl] = process.argv.slice(2)
await initAutomerge()
const endpoint = await createEndpoint({ dataDir, bindAddr: '127.0.0.1:0' })
// Peers prove they hold the same app secret before anything else is said (32 bytes, shared out of band).
const secret = new TextEncoder().encode('node-peer example secret, 32 B!!')
const adapter = new IrohNetworkAdapter({
  endpoint,
  handshakeKey: deriveKey(secret, 'handshake'),
  hello: { bundleId: 'node-peer-example', namespace: 'default', protocolVersion: '1.0.0', minCompatibleVersion: '1.0.0', peerName: 'node-peer' },
})
adapter.listen()
const repo = new Repo({ network: [adapter], storage: new CrashSafeStorageAdapter(`${dataDir}/storage`) })

if (!ticket) {
  const handle = repo.create({ lines: ['hello from the first peer'] })
  console.log(JSON.stringify({ ticket: endpointTicket(endpoint), url: handle.url }))
  handle.on('change', ({ doc }) => console.log(JSON.stringify({ lines: doc.lines })))
} else {
  adapter.dial(ticket)
  // find() of a document we do not have asks the peers connected now: wait for the first one.
  while (repo.peers.length === 0) await new Promise((r) => setTimeout(r, 50))
  const handle = await repo.find(docUrl)
  handle.change((d) => d.lines.push('hello from the second peer'))
  console.log(JSON.stringify({ lines: handle.doc().lines }))
  setTimeout(async () => { await repo.shutdown(); await closeEndpoint(endpoint); process.exit(0) }, 1500)
}
