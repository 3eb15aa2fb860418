// Helpers for discovery tests: when each peer saw each other peer (from `serve --json` events), how long
// after both were ready, and polling a document on several peers.
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { cliBin } from './cli'
import type { PeerEvent, PeerProcess } from './peers'

const readyAt = (p: PeerProcess) => Date.parse(p.events.find((e) => e.event === 'ready')!.at)

/** The first peer-connected event on `a` for `b`. */
export function connectedEvent(a: PeerProcess, b: PeerProcess): PeerEvent | undefined {
  return a.events.find((e) => e.event === 'peer-connected' && e.peer.endpointId === b.endpointId)
}

/** Waits until every peer reports every other one connected; returns ms after both of a pair were ready. */
export async function waitForMesh(peers: PeerProcess[], timeoutMs = 10000): Promise<{ pair: string; ms: number; source: string }[]> {
  const waits: Promise<{ pair: string; ms: number; source: string }>[] = []
  for (const a of peers) {
    for (const b of peers) {
      if (a === b) continue
      waits.push(
        a.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === b.endpointId, timeoutMs).then((e) => ({
          pair: `${a.options.name}→${b.options.name}`,
          // 0: already connected when the later peer printed `ready` (discovery runs while storage loads).
          ms: Math.max(0, Date.parse(e.at) - Math.max(readyAt(a), readyAt(b))),
          source: e.peer.source as string,
        })),
      )
    }
  }
  return Promise.all(waits)
}

/** Polls `doc get` on a peer until `accept` is true for the value; the elapsed ms, or undefined on timeout. */
export async function pollDoc(peer: PeerProcess, path: string, accept: (value: any) => boolean, timeoutMs: number): Promise<number | undefined> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    const got = await peer.doc(['get', path])
    if (got.code === 0) {
      try {
        if (accept(JSON.parse(got.stdout).value)) return performance.now() - started
      } catch {
        // not JSON yet
      }
    }
  }
  return undefined
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

/**
 * A `tonk-p2p doc watch PATH` process on a peer's host: resolves `seen` with the wall-clock time the
 * first value matching `accept` was printed. Started before a write elsewhere, it measures sync latency
 * without the ~0.3 s start-up of a `doc get` per poll.
 */
export function watchDoc(peer: PeerProcess, path: string, accept: (value: any) => boolean, timeoutMs = 10000): { started: Promise<void>; seen: Promise<number>; stop: () => void } {
  const args = [cliBin, '--json', 'doc', 'watch', path, '--data', peer.options.dataDir]
  const argv = peer.options.host ? [...peer.options.host.exec, process.execPath, ...args] : [process.execPath, ...args]
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  let onStarted!: () => void
  const started = new Promise<void>((r) => (onStarted = r))
  const seen = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`doc watch ${path} on ${peer.options.name}: no matching value in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    let buffered = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        onStarted()
        try {
          if (accept(JSON.parse(line).value)) {
            clearTimeout(timer)
            resolve(Date.now())
            child.kill('SIGTERM')
          }
        } catch {
          // not a JSON line
        }
      }
    })
    child.on('exit', () => onStarted())
  })
  return { started, seen, stop: () => child.kill('SIGKILL') }
}
