// A plain automerge-repo WebSocket sync server (what a Tonk sync server runs): a Repo with upstream's
// WebSocketServerAdapter on a `ws` server, in-memory storage, on 127.0.0.1. Run as its own process:
//   node --import tsx test/helpers/discovery-sync-server.ts [port] [host]   → prints `listening <port>`
// (host defaults to 127.0.0.1; a multi-host test passes the test host's address)
import { Repo } from '@automerge/automerge-repo/slim'
import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { WebSocketServer } from 'ws'
import { initAutomerge } from '../../src/core/util/automerge'

await initAutomerge()
const wss = new WebSocketServer({ host: process.argv[3] ?? '127.0.0.1', port: Number(process.argv[2] ?? 0) })
await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
// A sync server keeps every document it hears about and serves it to anyone (sharePolicy true).
const repo = new Repo({ network: [new WebSocketServerAdapter(wss as never)], sharePolicy: async () => true })
const port = (wss.address() as { port: number }).port
process.stdout.write(`listening ${port}\n`)
const stop = async () => {
  await repo.shutdown().catch(() => {})
  wss.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
