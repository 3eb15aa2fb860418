// An mDNS bystander on a test host: asks for a DNS-SD service type every 500 ms and prints one JSON
// line per answer, with the address it came from and whether it was a goodbye (TTL 0). A test reads
// these to tell whether a peer on another host is announcing, answering, or silent.
//   node --import tsx test/helpers/mdns-observer.ts _tonk-sync._udp
//   {"event":"answer","from":"10.99.x.y","goodbye":false,"at":…}
import { Bonjour } from 'bonjour-service'

const service = `${process.argv[2] ?? '_tonk-sync._udp'}.local`
// bonjour-service's own multicast-dns socket (a typed dependency of the project; multicast-dns is not direct).
const bonjour = new Bonjour({}, (err: Error) => process.stderr.write(`mdns-observer: ${err.message}\n`))
const mdns = (bonjour as unknown as { server: { mdns: any } }).server.mdns
const line = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, at: Date.now() }) + '\n')
mdns.on('response', (res: { answers: { name: string; type: string; ttl?: number }[]; additionals?: unknown[] }, rinfo: { address: string }) => {
  const ours = res.answers.filter((a) => a.type === 'PTR' && a.name === service)
  if (ours.length) line({ event: 'answer', from: rinfo.address, goodbye: ours.every((a) => a.ttl === 0) })
})
const ask = () => mdns.query({ questions: [{ name: service, type: 'PTR' }] })
const timer = setInterval(ask, 500)
ask()
line({ event: 'listening' })
const stop = () => {
  clearInterval(timer)
  bonjour.destroy(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
