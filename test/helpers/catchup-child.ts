// A fresh peer in its own process, for the event-loop test: `tsx catchup-child.ts <bundleDir> <dataDir>
// <ticket> <idsFile>`. Opens a session on an empty data dir, starts a 10 ms monitorEventLoopDelay,
// dials the ticket, waits until every document id listed (one a line) is ready, and prints
// {"ms","p99","max","applied"} (ms) as one JSON line. Its own process, so only its own loop is measured.
// Inherits TONK_BULK_SLICE_MS (0: frames applied whole, to show the test fails that way).
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { Session } from '../../src/core/session/session'
import { assertIsolated } from './ensure-isolated'

assertIsolated()
await initAutomerge()
const [bundleDir, dataDir, ticket, idsFile] = process.argv.slice(2) as [string, string, string, string]
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean) as DocumentId[]
const session = await Session.open(bundleDir, { dataDir, bindAddr: '127.0.0.1:0', control: false, peerName: 'fresh', discovery: { mdns: false, exchange: false } })
await session.start()
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
const started = performance.now()
session.dial(ticket, 'ticket')
let waiting = ids
await new Promise<void>((resolve, reject) => {
  const deadline = setTimeout(() => reject(new Error(`${waiting.length} of ${ids.length} documents not ready after 45 s`)), 45_000)
  const poll = setInterval(() => {
    waiting = waiting.filter((id) => !session.repo.handles[id]?.isReady())
    if (waiting.length > 0) return
    clearInterval(poll)
    clearTimeout(deadline)
    resolve()
  }, 10)
})
const ms = performance.now() - started
// A stall that ends the catch-up is recorded at the monitor's next tick: let it come.
await new Promise((r) => setTimeout(r, 25))
loop.disable()
console.log(JSON.stringify({ ms, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6, applied: session.bulkCounters?.docsApplied }))
await session.stop()
process.exit(0)
