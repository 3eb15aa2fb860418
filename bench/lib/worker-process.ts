// The driver's side of bench/worker.ts: spawns one worker process (optionally on a TestNetwork host),
// sends it commands and collects its events.
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const workerBundle = join(root, 'out', 'bench', 'worker.cjs')

/** Bundles the worker like the CLI is bundled (so 20 processes start fast and run what users run). */
export async function buildWorker(): Promise<void> {
  await esbuild.build({
    entryPoints: [join(root, 'bench', 'worker.ts')],
    outfile: workerBundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@number0/iroh', 'cbor-extract', 'bufferutil', 'utf-8-validate'],
    define: { 'import.meta.url': '__tonk_import_meta_url' },
    banner: { js: "const __tonk_import_meta_url = require('url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
    sourcemap: 'linked',
  })
}

export interface WorkerEvent {
  event: string
  t: number
  [k: string]: any
}

export class WorkerProcess {
  readonly events: WorkerEvent[] = []
  private nextId = 1
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  private waiters: Array<{ pred: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }> = []
  private stderr = ''
  readonly exited: Promise<number | null>

  private constructor(readonly child: ChildProcess, readonly label: string) {
    let buf = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (line.trim()) this.onLine(line)
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000)
    })
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`${label} exited (${code}): ${this.stderr}`))
        this.pending.clear()
        resolve(code)
      }),
    )
  }

  static spawn(label: string, exec: string[] = []): WorkerProcess {
    // BENCH_CPU_PROF=<part of a label>: those workers write a V8 CPU profile to bench/results/profiles.
    const prof = process.env.BENCH_CPU_PROF && label.includes(process.env.BENCH_CPU_PROF)
    const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'results', 'profiles')}`, `--cpu-prof-name=${label}.cpuprofile`] : []
    // BENCH_NODE_FLAGS: more flags for every worker (experiments, e.g. --single-threaded-gc).
    const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
    const argv = [...exec, process.execPath, '--expose-gc', '--enable-source-maps', ...flags, ...profArgs, workerBundle]
    const env = { ...process.env, RUST_BACKTRACE: '0' }
    return new WorkerProcess(spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env }), label)
  }

  private onLine(line: string): void {
    let msg: any
    try {
      msg = JSON.parse(line)
    } catch {
      this.stderr += `(stdout) ${line}\n`
      return
    }
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id)
      this.pending.delete(msg.id)
      if (msg.ok) p?.resolve(msg.result)
      else p?.reject(new Error(`${this.label}: ${msg.error}`))
      return
    }
    this.events.push(msg)
    this.waiters = this.waiters.filter((w) => (w.pred(msg) ? (w.resolve(msg), false) : true))
  }

  request<T = any>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${this.label}: ${cmd} timed out after ${timeoutMs} ms; stderr: ${this.stderr}`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    })
  }

  /** The first event (already seen or future) matching `pred`. */
  waitFor(pred: (e: WorkerEvent) => boolean, timeoutMs = 60_000): Promise<WorkerEvent> {
    const seen = this.events.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done)
        reject(new Error(`${this.label}: no matching event in ${timeoutMs} ms; stderr: ${this.stderr}`))
      }, timeoutMs)
      const done = (e: WorkerEvent) => (clearTimeout(timer), resolve(e))
      this.waiters.push({ pred, resolve: done })
    })
  }

  /** Forgets events seen so far (so a later waitFor only matches new ones). */
  clearEvents(): void {
    this.events.length = 0
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.request('stop', {}, 15_000), this.exited])
    } catch {}
    const killed = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await this.exited
    clearTimeout(killed)
  }
}
