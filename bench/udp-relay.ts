// Runs a UDP delay relay (lib/udp-delay-relay.ts) on a TestNetwork host for the WAN rows of run.ts:
//   node --import tsx bench/udp-relay.ts BIND_HOST TARGET_HOST:PORT DELAY_MS
// Prints {"port": N} once listening; stops when its stdin closes (the driver exits or kills it).
import { startUdpDelayRelay } from './lib/udp-delay-relay'

const [bindHost, target, delay] = process.argv.slice(2)
const [host, port] = (target ?? '').split(':')
const relay = await startUdpDelayRelay(bindHost!, { host: host!, port: Number(port) }, Number(delay))
process.stdout.write(JSON.stringify({ port: relay.port }) + '\n')
process.stdin.resume()
process.stdin.on('end', () => {
  relay.close()
  process.exit(0)
})
