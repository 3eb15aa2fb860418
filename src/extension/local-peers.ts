// "Start Local Peers…": N headless `tonk-p2p serve` processes of the session's bundle, each with its own
// identity and storage (a data dir under the session's), dialing this session by ticket. Multi-peer
// debugging in one click. They are children of the extension host, ended by pid on Stop Local Peers,
// session stop and deactivate; they stop by themselves when the host dies (--stop-with-stdin). Each
// session (bundle) has its own: they live under its data dir.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import * as vscode from 'vscode'
import type { ExtensionLogger } from './log'

export const MAX_LOCAL_PEERS = 16
const READY_TIMEOUT_MS = 60_000
const KILL_GRACE_MS = 5_000

export interface LocalPeer {
  index: number
  name: string
  dataDir: string
  pid: number | undefined
  endpointId?: string
  ticket?: string
  exited: boolean
}

interface Running extends LocalPeer {
  /** The data dir of the session they belong to. */
  session: string
  child: ChildProcess
  done: Promise<void>
}

export interface LocalPeerSpawnOptions {
  /** The bundle zip the session serves. */
  bundleZip: string
  /** The session's data dir; peers live in `<sessionDataDir>/local-peers/peer-N`. */
  sessionDataDir: string
  /** The session's ticket, which every local peer dials. */
  ticket: string
  count: number
}

export class LocalPeers implements vscode.Disposable {
  private readonly peers: Running[] = []
  private readonly changeEmitter = new vscode.EventEmitter<void>()
  readonly onDidChange = this.changeEmitter.event

  constructor(
    /** out/cli.cjs of this extension. */
    private readonly cliPath: string,
    private readonly log: ExtensionLogger,
  ) {}

  get list(): LocalPeer[] {
    return this.peers.map(({ child: _c, done: _d, session: _s, ...p }) => p)
  }

  get runningCount(): number {
    return this.peers.filter((p) => !p.exited).length
  }

  /** Running local peers of the session with this data dir. */
  runningCountOf(sessionDataDir: string): number {
    return this.peers.filter((p) => !p.exited && p.session === sessionDataDir).length
  }

  /** Starts `count` more peers and resolves when each printed its ready line (or rejects with why not). */
  async start(options: LocalPeerSpawnOptions, onReady?: (peer: LocalPeer) => void): Promise<LocalPeer[]> {
    if (!Number.isInteger(options.count) || options.count < 1 || options.count > MAX_LOCAL_PEERS) {
      throw new Error(`the number of local peers must be 1-${MAX_LOCAL_PEERS}, not ${options.count}`)
    }
    const used = new Set(this.peers.filter((p) => !p.exited && p.session === options.sessionDataDir).map((p) => p.index))
    const started: Promise<LocalPeer>[] = []
    for (let index = 1; started.length < options.count; index++) {
      if (used.has(index)) continue
      started.push(this.spawnOne(index, options).then((p) => (onReady?.(p), p)))
    }
    const results = await Promise.allSettled(started)
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length) throw new Error(`${failed.length} of ${options.count} local peer(s) failed: ${(failed[0]!.reason as Error).message}`)
    return results.map((r) => (r as PromiseFulfilledResult<LocalPeer>).value)
  }

  private async spawnOne(index: number, o: LocalPeerSpawnOptions): Promise<LocalPeer> {
    const name = `local-${index}`
    const dataDir = join(o.sessionDataDir, 'local-peers', `peer-${index}`)
    await mkdir(dataDir, { recursive: true, mode: 0o700 }) // a data dir is owner-only (core/host/data-dir.ts)
    const args = [this.cliPath, '--json', 'serve', o.bundleZip, '--data', dataDir, '--name', name, '--bind', '127.0.0.1:0',
      '--connect', o.ticket, '--log-level', 'warn',
      // They reach the network through the session; the bundle's own bootstrap peers are the session's
      // to ask the user about (bundle-hints.ts), not to be dialed behind its back by its helpers.
      '--no-bootstrap-peers',
      // Ended with the extension host even when it is killed (no deactivate): its end of the pipe closes.
      '--stop-with-stdin']
    // process.execPath is the extension host's runtime: Node in code-server, Electron in desktop VS Code
    // (which runs as plain Node with ELECTRON_RUN_AS_NODE).
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      // The engine falls back to a control socket path relative to the working directory when the
      // absolute one is too long for a Unix socket (deep global storage folders): keep it short.
      cwd: join(o.sessionDataDir, 'local-peers'),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let exitedBeforeReady: ((why: Error) => void) | undefined
    const done = new Promise<void>((resolve) => child.once('close', () => resolve()))
    const peer: Running = { index, name, dataDir, pid: child.pid, exited: false, session: o.sessionDataDir, child, done }
    this.peers.push(peer)
    this.changeEmitter.fire()
    this.log.info(`local peer ${name}: started (pid ${child.pid}) in ${dataDir}`)

    const ready = new Promise<LocalPeer>((resolve, reject) => {
      exitedBeforeReady = reject
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let event: { event?: string; endpointId?: string; ticket?: string; peer?: { name?: string }; name?: string; reason?: string }
        try {
          event = JSON.parse(line)
        } catch {
          this.log.debug(`local peer ${name}: ${line}`)
          return
        }
        if (event.event === 'ready') {
          peer.endpointId = event.endpointId
          peer.ticket = event.ticket
          this.changeEmitter.fire()
          resolve(this.list[this.peers.indexOf(peer)]!)
        } else if (event.event === 'peer-refused') {
          this.log.warn(`local peer ${name}: refused: ${event.reason}`)
        } else if (event.event) {
          this.log.debug(`local peer ${name}: ${event.event}${event.peer?.name ? ` ${event.peer.name}` : ''}`)
        }
      })
    })
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.warn(`local peer ${name}: ${line}`))
    child.once('error', (err) => exitedBeforeReady?.(new Error(`${name} could not start: ${err.message}`)))
    child.once('close', (code, signal) => {
      peer.exited = true
      this.log.info(`local peer ${name}: exited (${signal ?? `code ${code}`})`)
      exitedBeforeReady?.(new Error(`${name} exited with ${signal ?? `code ${code}`} before it was ready (see the Tonk P2P log)`))
      this.changeEmitter.fire()
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} was not ready after ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS)
    })
    try {
      return await Promise.race([ready, timeout])
    } catch (err) {
      this.kill(peer)
      throw err
    } finally {
      clearTimeout(timer)
      exitedBeforeReady = undefined
    }
  }

  /** SIGTERM (serve stops its session cleanly), SIGKILL after a grace period. By pid, only our children. */
  private kill(peer: Running): Promise<void> {
    if (!peer.exited && peer.child.exitCode === null && peer.child.signalCode === null) {
      peer.child.kill('SIGTERM')
      const hard = setTimeout(() => peer.child.kill('SIGKILL'), KILL_GRACE_MS)
      void peer.done.then(() => clearTimeout(hard))
    }
    return peer.done
  }

  /** Ends the local peers of one session (its data dir), or every one, and waits until they exited. */
  async stop(sessionDataDir?: string): Promise<void> {
    const all = this.peers.filter((p) => sessionDataDir === undefined || p.session === sessionDataDir)
    for (const p of all) this.peers.splice(this.peers.indexOf(p), 1)
    if (all.length === 0) return
    this.log.info(`stopping ${all.filter((p) => !p.exited).length} local peer(s)`)
    await Promise.all(all.map((p) => this.kill(p)))
    this.changeEmitter.fire()
  }

  dispose(): void {
    void this.stop()
    this.changeEmitter.dispose()
  }
}
