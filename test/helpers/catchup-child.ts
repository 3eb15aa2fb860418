// A fresh peer in its own process, for the event-loop test: `tsx catchup-child.ts <bundleDir> <dataDir>
// <ticket> <idsFile> [<engine-worker.cjs>]`. Opens a session on an empty data dir, starts a 10 ms
// monitorEventLoopDelay, dials the ticket, waits until every document id listed (one a line) is ready,
// and prints {"ms","p99","max","applied"} (ms) as one JSON line. Its own process, so only its own loop
// is measured. Given the worker file, the session is a RemoteSession: the engine runs on a worker
// thread and the loop measured is the host's (as the extension host's would be).
// Inherits TONK_BULK_SLICE_MS (0: frames applied whole, to show the test fails that way).
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { DocumentId } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { Session } from '../../src/core/session/session'
import { RemoteSession } from '../../src/core/session/remote/remote-session'
import { assertIsolated } from './ensure-isolated'

assertIsolated()
await initAutomerge()
const [bundleDir, dataDir, ticket, idsFile, workerFile] = process.argv.slice(2) as [string, string, string, string, string | undefined]
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean) as DocumentId[]
const options = { dataDir, bindAddr: '127.0.0.1:0', control: false, peerName: 'fresh', discovery: { mdns: false, exchange: false } }
const session = workerFile ? await RemoteSession.open(bundleDir, { ...options, workerFile }) : await Session.open(bundleDir, options)
await session.start()
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
const started = performance.now()
await session.dial(ticket, 'ticket')
const readyCount = async () =>
  session instanceof RemoteSession ? session.call('readyCount', ids) : ids.filter((id) => session.repo.handles[id]?.isReady()).length
await new Promise<void>((resolve, reject) => {
  const deadline = setTimeout(() => reject(new Error(`documents not ready after 45 s`)), 45_000)
  const poll = async () => {
    if ((await readyCount()) < ids.length) return void setTimeout(poll, 10)
    clearTimeout(deadline)
    resolve()
  }
  void poll()
})
const ms = performance.now() - started
// A stall that ends the catch-up is recorded at the monitor's next tick: let it come.
await new Promise((r) => setTimeout(r, 25))
loop.disable()
const bulk = session instanceof RemoteSession ? await session.call('bulkCounters') : session.bulkCounters
console.log(JSON.stringify({ ms, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6, applied: bulk?.docsApplied }))
await session.stop()
process.exit(0)
