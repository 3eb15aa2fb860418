// Headless peers as separate OS processes: `tonk-p2p serve --json` (the built CLI), optionally on a
// host of a TestNetwork. Events are JSON lines on stdout; `waitFor` resolves on the first matching one.
import { spawn, type ChildProcess } from 'node:child_process'
import { cliBin, runCli, type CliResult } from './cli'
import type { Host } from './netns'

export interface PeerEvent {
  event: string
  [key: string]: any
}

export interface PeerOptions {
  bundle: string
  dataDir: string
  connect?: string[]
  host?: Host
  /** Extra CLI arguments for serve. */
  args?: string[]
  env?: NodeJS.ProcessEnv
  name?: string
  /** Another copy of bin/tonk-p2p.cjs (e.g. one unpacked from a VSIX); default: the repo's. */
  bin?: string
}

export class PeerProcess {
  readonly events: PeerEvent[] = []
  readonly stderr: string[] = []
  private waiters: { pred: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }[] = []
  private exited: Promise<number | null>
  ticket = ''
  endpointId = ''

  private constructor(
    readonly child: ChildProcess,
    readonly options: PeerOptions,
  ) {
    let buffered = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim()
        buffered = buffered.slice(nl + 1)
        if (!line) continue
        let event: PeerEvent
        try {
          event = JSON.parse(line)
        } catch {
          this.stderr.push(`(stdout, not JSON) ${line}`)
          continue
        }
        this.events.push(event)
        this.waiters = this.waiters.filter((w) => (w.pred(event) ? (w.resolve(event), false) : true))
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d))
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  }

  static async start(options: PeerOptions): Promise<PeerProcess> {
    const args = [options.bin ?? cliBin, '--json', 'serve', options.bundle, '--data', options.dataDir]
    for (const t of options.connect ?? []) args.push('--connect', t)
    if (options.name) args.push('--name', options.name)
    if (!options.host) args.push('--bind', '127.0.0.1:0')
    args.push(...(options.args ?? []))
    const argv = options.host ? [...options.host.exec, process.execPath, ...args] : [process.execPath, ...args]
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
    const peer = new PeerProcess(child, options)
    const ready = await peer.waitFor((e) => e.event === 'ready', 20000)
    peer.ticket = ready.ticket
    peer.endpointId = ready.endpointId
    return peer
  }

  /** Resolves with the first event (already seen or future) that matches. */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs = 10000): Promise<PeerEvent> {
    const seen = this.events.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done)
        reject(new Error(`peer ${this.options.dataDir}: no matching event in ${timeoutMs} ms\nevents: ${JSON.stringify(this.events.slice(-20))}\nstderr: ${this.stderr.join('').slice(-3000)}`))
      }, timeoutMs)
      const done = (e: PeerEvent) => {
        clearTimeout(timer)
        resolve(e)
      }
      this.waiters.push({ pred, resolve: done })
      this.exited.then((code) => {
        if (this.waiters.some((w) => w.resolve === done)) {
          clearTimeout(timer)
          reject(new Error(`peer ${this.options.dataDir} exited (${code}) before the event\nstderr: ${this.stderr.join('').slice(-3000)}`))
        }
      })
    })
  }

  /** Runs `tonk-p2p doc …` against this peer's data dir, on the same host. */
  doc(args: string[], timeoutMs?: number): Promise<CliResult> {
    return docCommand(this.options.dataDir, args, this.options.host, timeoutMs, this.options.bin)
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal)
    return this.exited
  }

  /** Graceful stop (SIGTERM); SIGKILL after a grace period. */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

export function docCommand(dataDir: string, args: string[], host?: Host, timeoutMs = 20000, bin?: string): Promise<CliResult> {
  const cliArgs = ['--json', 'doc', ...args.slice(0, 1), '--data', dataDir, ...args.slice(1)]
  if (!host) return runCli(cliArgs, { timeoutMs, bin })
  return runCli(cliArgs, { timeoutMs, wrap: [...host.exec], bin })
}

/** Polls `doc get` until `check` accepts the value; returns it with the time it took. */
export async function waitForDoc(
  dataDir: string,
  path: string,
  check: (value: any) => boolean,
  timeoutMs = 10000,
  host?: Host,
): Promise<{ value: any; ms: number }> {
  const started = performance.now()
  let last = ''
  while (performance.now() - started < timeoutMs) {
    const r = await docCommand(dataDir, ['get', path], host)
    if (r.code === 0) {
      const value = JSON.parse(r.stdout).value
      if (check(value)) return { value, ms: performance.now() - started }
      last = r.stdout
    } else last = r.stderr
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`${path} never matched in ${dataDir} within ${timeoutMs} ms; last: ${last}`)
}
