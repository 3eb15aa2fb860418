// Runs test/helpers/hostile-peer.ts as its own process against a target and collects what it printed.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { LoadedBundle } from '../../src/core/bundle'
import { appCapability, deriveKey } from '../../src/core/bundle/capability'
import { repoRoot } from './cli'

const hostileScript = join(repoRoot, 'test', 'helpers', 'hostile-peer.ts')

export interface HostileTarget {
  ticket: string
  bundleId: string
  namespace: string
  /** The app's handshake key (hex): the hostile holds the bundle. Left out: a stranger. */
  hskey?: string
}

export interface HostileRun {
  endpointId: string
  result: Record<string, any>
  lines: Array<Record<string, any>>
  stderr: string
}

/** What a hostile that holds `bundle` needs to know of a target serving it. */
export function hostileTarget(ticket: string, bundle: LoadedBundle): Required<HostileTarget> {
  return {
    ticket,
    bundleId: bundle.bundleId,
    namespace: bundle.manifest.sync.namespace,
    hskey: deriveKey(appCapability(bundle.manifest.sync).secret, 'handshake').toString('hex'),
  }
}

/** `wrap` runs the hostile on a test host (its `exec` prefix, test/helpers/netns.ts). */
export function runHostile(mode: string, target: HostileTarget, extra: string[] = [], timeoutMs = 60000, wrap: string[] = []): Promise<HostileRun> {
  return new Promise((resolve, reject) => {
    const args = [mode, target.ticket, target.bundleId, target.namespace, ...(target.hskey ? [`hskey=${target.hskey}`] : []), ...extra]
    const argv = [...wrap, process.execPath, '--import', 'tsx', '--no-deprecation', hostileScript, ...args]
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let stderr = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', () => {
      clearTimeout(timer)
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l))
      const result = lines.find((l) => l.event === 'result')
      const endpointId = lines.find((l) => l.event === 'endpoint')?.endpointId
      if (!result) reject(new Error(`hostile ${mode} printed no result\nstdout: ${out}\nstderr: ${stderr.slice(-2000)}`))
      else resolve({ endpointId, result, lines, stderr })
    })
  })
}
