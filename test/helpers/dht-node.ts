// A bare Mainline DHT node (bittorrent-dht, no bootstrap of its own): the explicit bootstrap node of a
// test DHT, never the public routers. It prints one JSON line per event a peer causes on it, so a test
// can tell whether (and when) a peer published to the DHT:
//   node --import tsx test/helpers/dht-node.ts HOST PORT   → {"event":"listening","port":…}
//   {"event":"announce","host":…,"port":…}  a peer announced a topic
//   {"event":"put","target":…}              a peer stored a BEP 44 record
//   {"event":"query","host":…}              any query from a peer (pings, gets, find_node …)
import DHT from 'bittorrent-dht'
import { ed25519Verify } from '../../src/core/discovery/keys'

const [host = '127.0.0.1', port = '0'] = process.argv.slice(2)
const line = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, at: Date.now() }) + '\n')
const dht = new DHT({ bootstrap: false, verify: (sig: Buffer, msg: Buffer, pub: Buffer) => ed25519Verify(sig, msg, pub) })
dht.on('error', (err: Error) => process.stderr.write(`dht-node: ${err.message}\n`))
dht.on('announce_peer', (_infoHash: Buffer, peer: { host: string; port: number }) => line({ event: 'announce', host: peer.host, port: peer.port }))
dht.on('put', (key: Buffer) => line({ event: 'put', target: key.toString('hex') }))
// k-rpc's 'query' carries every request a peer sends us, with its address.
;(dht as unknown as { _rpc: { on(e: 'query', f: (q: unknown, peer: { address: string }) => void): void } })._rpc.on('query', (_q, peer) =>
  line({ event: 'query', host: peer.address }),
)
dht.listen(Number(port), host, () => line({ event: 'listening', port: dht.address().port }))
const stop = () => dht.destroy(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
