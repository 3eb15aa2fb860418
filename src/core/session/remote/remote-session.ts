// A Session run on a worker thread (engine-worker.ts), driven from the host thread by messages
// (protocol.ts). Why: the engine's longest tasks are single Automerge calls (merging
// a root that indexes 2,000 paths: ~0.8 s here, no slice can split it); on the host thread they freeze
// whatever else it runs, in VS Code every extension. Here the host's event loop only posts and reads
// messages (bench row `catchup`, test engine-bulk-event-loop).
//
// The host sees the same events and, as promises, the same calls as on a Session. Documents it wants to
// read or edit come through `mirror()`: a Repo on the host thread, synced with the engine's Repo over a
// MessagePort (as the preview page's Repo is), holding only what the host opens.
import { EventEmitter } from 'node:events'
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import { Repo } from '@automerge/automerge-repo/slim'
import { appCapability, type AppCapability } from '../../bundle/capability'
import type { LoadedBundle } from '../../bundle/load'
import type {
  EngineCalls,
  EngineMethod,
  EngineStatus,
  EngineWorkerData,
  HostToWorker,
  LogLevel,
  WorkerToHost,
} from './protocol'
import { parseAdapterFrame } from '../../../shared/frames'
import { noopLogger, type Logger } from '../../../shared/log'
import { PostMessageNetworkAdapter } from '../../../shared/postmessage-adapter'
import { initAutomerge } from '../../util/automerge'
import { loadSessionBundle } from '../session'
import type { SessionEvents, SessionOptions, SessionState } from '../types'
import { fromWireError, notRunning, portChannel, wireError } from './wire'

export interface RemoteSessionOptions extends SessionOptions {
  /** The built worker script. Default: engine-worker.cjs next to the running bundle (out/). */
  workerFile?: string | URL
  /** Levels of the engine's log lines that cross to `logger` (default all; see setLogLevels). */
  logLevels?: LogLevel[]
}

/** How long mirror() waits for the engine's Repo to greet the host's. */
const MIRROR_WAIT_MS = 15_000
/** How long stop() waits for the engine to close its endpoint and flush before ending the thread. */
const STOP_WAIT_MS = 10_000

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error']

/** `level` and the levels above it (what a logger set to `level` shows). */
export const levelsFrom = (level: LogLevel): LogLevel[] => LEVELS.slice(LEVELS.indexOf(level))

export class RemoteSession extends EventEmitter<SessionEvents> {
  state: SessionState = 'idle'
  online = true
  endpointId: string | undefined
  ticket: string | undefined
  peerName: string
  tonk: EngineStatus['tonk']
  /** What makes this bundle a capability (its appKey, else its bundleId), as the Session's. */
  readonly capability: AppCapability
  readonly #log: Logger
  #worker: Worker | undefined
  #lastCall = 0
  #lastAttach = 0
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #mirror: Promise<Repo> | undefined
  #stopped: Promise<void> | undefined
  #exited = false
  /** Session events the worker was asked to forward (asked again when the worker starts). */
  readonly #listening = new Set<string>()
  /** Settled by the worker's `started` / `failed` (or its exit), and by `stopped`. */
  #onStarted: { resolve: () => void; reject: (e: Error) => void } | undefined
  #onStopped: (() => void) | undefined

  private constructor(
    public bundle: LoadedBundle,
    readonly options: RemoteSessionOptions,
  ) {
    super()
    this.capability = appCapability(bundle.manifest.sync)
    this.#log = options.logger ?? noopLogger
    this.peerName = options.peerName ?? ''
    // Events cross only once someone here listens (a trace event per message is not free).
    const events = this as EventEmitter
    events.on('newListener', (name: string | symbol) => {
      if (typeof name !== 'string' || name === 'state' || this.#listening.has(name)) return
      this.#listening.add(name)
      this.#post({ kind: 'listen', name: name as keyof SessionEvents })
    })
    events.on('removeListener', (name: string | symbol) => {
      if (typeof name !== 'string' || !this.#listening.has(name) || events.listenerCount(name) > 0) return
      this.#listening.delete(name)
      this.#post({ kind: 'unlisten', name: name as keyof SessionEvents })
    })
  }

  /** Loads and checks the bundle here (as Session.open does); the engine starts with start(). */
  static async open(source: string | LoadedBundle, options: RemoteSessionOptions): Promise<RemoteSession> {
    return new RemoteSession(await loadSessionBundle(source, options), options)
  }

  /** Starts the worker and its Session; resolves once it runs, rejects with the engine's error (its code kept). */
  async start(): Promise<void> {
    if (this.#worker) throw new Error('session already started')
    const { logger, approveBundleHints, workerFile, logLevels, ...plain } = this.options
    const data: EngineWorkerData = {
      bundle: this.bundle,
      options: { ...plain, askBundleHints: approveBundleHints !== undefined, logLevels: logger ? (logLevels ?? LEVELS) : [] },
    }
    const file = workerFile ?? new URL('./engine-worker.cjs', import.meta.url)
    const worker = new Worker(file, { workerData: data })
    this.#worker = worker
    this.#setState('starting')
    const started = new Promise<void>((resolve, reject) => (this.#onStarted = { resolve, reject }))
    worker.on('message', (message: WorkerToHost) => this.#onMessage(message))
    for (const name of this.#listening) this.#post({ kind: 'listen', name: name as keyof SessionEvents })
    worker.on('error', (error) => this.#onExit(error))
    worker.on('exit', (code) => this.#onExit(code === 0 ? undefined : new Error(`the engine worker exited (${code})`)))
    try {
      await started
    } catch (error) {
      await worker.terminate()
      this.#setState('failed')
      throw error
    }
  }

  /** Calls the Session method `method` in the worker. */
  call<M extends EngineMethod>(method: M, ...args: EngineCalls[M]['args']): Promise<EngineCalls[M]['result']> {
    const worker = this.#worker
    if (!worker || this.#exited) return Promise.reject(notRunning())
    const id = ++this.#lastCall
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#post({ kind: 'call', id, method, args })
    })
  }

  snapshot = () => this.call('snapshot')
  peers = () => this.call('peers')
  trace = () => this.call('trace')
  networkSummary = () => this.call('networkSummary')
  dial = (...args: EngineCalls['dial']['args']) => this.call('dial', ...args)
  disconnectPeer = (endpointId: string) => this.call('disconnectPeer', endpointId)
  reconnectPeer = (endpointId: string) => this.call('reconnectPeer', endpointId)
  goOffline = () => this.call('goOffline')
  goOnline = () => this.call('goOnline')
  pathOf = (url: string) => this.call('pathOf', url)
  resolvePath = (path: string) => this.call('resolvePath', path)
  writeDoc = (path: string, value: object) => this.call('writeDoc', path, value)
  peerList = () => this.call('peerList')
  docPeers = (documentId: string) => this.call('docPeers', documentId)
  actorNames = (actors: readonly string[]) => this.call('actorNames', [...actors])
  recordOwnActor = (actor: string) => this.call('recordOwnActor', actor)
  exportTonk = () => this.call('exportTonk')
  setLinkFault = (...args: EngineCalls['setLinkFault']['args']) => this.call('setLinkFault', ...args)

  /** The engine's log lines at these levels cross to the logger from now on (a line is a message). */
  setLogLevels(levels: LogLevel[]): void {
    this.#post({ kind: 'log-levels', levels: [...levels] })
  }

  /** Serves another build of the app (hot reload); `bundle` is this session's from now on. */
  async reloadBundle(bundle: LoadedBundle): Promise<void> {
    await this.call('reloadBundle', bundle)
    this.bundle = bundle
  }

  /**
   * The host's Repo for documents it reads or edits, synced with the engine's (created on first use:
   * a host that only shows snapshots never pays for Automerge on its thread).
   */
  mirror(): Promise<Repo> {
    return (this.#mirror ??= this.#openMirror())
  }

  /**
   * A port whose other end is an adapter on the engine's Repo (guarded as any attached adapter): a Repo
   * of the host's speaks PostMessageNetworkAdapter frames over it, or the host relays a webview page's.
   * `detach()` takes the adapter out again.
   */
  attach(name: string): { port: MessagePort; detach: () => void } {
    if (!this.#worker || this.#exited) throw notRunning()
    const { port1, port2 } = new MessageChannel()
    const id = ++this.#lastAttach
    this.#post({ kind: 'attach', id, name, port: port2 }, [port2])
    return {
      port: port1,
      detach: () => {
        this.#post({ kind: 'detach', id })
        port1.close()
      },
    }
  }

  async #openMirror(): Promise<Repo> {
    await initAutomerge()
    const { port: port1 } = this.attach('host')
    const adapter = new PostMessageNetworkAdapter(portChannel(port1, parseAdapterFrame), {
      onDrop: (reason) => this.#log.warn(`remote session: dropped a frame from the engine: ${reason}`),
    })
    // Ephemeral, without storage: the engine stores; the mirror only holds what the host opened.
    const repo = new Repo({ network: [adapter], isEphemeral: true, sharePolicy: async () => true })
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(notRunning("the engine's Repo did not answer")), MIRROR_WAIT_MS).unref(),
    )
    try {
      await Promise.race([adapter.whenPeer(), timeout])
    } catch (error) {
      this.#mirror = undefined // the next mirror() tries again
      await repo.shutdown().catch(() => {})
      throw error
    }
    return repo
  }

  /** Stops the Session (endpoint closed, storage flushed) and ends the worker. Never throws. */
  stop(): Promise<void> {
    return (this.#stopped ??= this.#stop())
  }

  async #stop(): Promise<void> {
    const worker = this.#worker
    if (!worker) return void this.#setState('stopped')
    if (!this.#exited) {
      this.#setState('stopping')
      const done = new Promise<void>((resolve) => {
        this.#onStopped = resolve
        setTimeout(resolve, STOP_WAIT_MS).unref()
      })
      this.#post({ kind: 'stop' })
      await done
    }
    if (this.#mirror) await (await this.#mirror.catch(() => undefined))?.shutdown().catch(() => {})
    await worker.terminate()
    this.#setState('stopped')
  }

  #post(message: HostToWorker, transfer: Transferable[] = []): void {
    this.#worker?.postMessage(message, transfer as never)
  }

  #onMessage(message: WorkerToHost): void {
    switch (message.kind) {
      case 'started':
        this.#apply(message.status)
        this.#onStarted?.resolve()
        return
      case 'failed':
        this.#onStarted?.reject(fromWireError(message.error))
        return
      case 'status':
        this.#apply(message.status)
        return
      case 'result': {
        const call = this.#calls.get(message.id)
        this.#calls.delete(message.id)
        if (message.ok) call?.resolve(message.value)
        else call?.reject(fromWireError(message.error))
        return
      }
      case 'event':
        if (message.name !== 'state') (this.emit as (name: string, ...args: unknown[]) => boolean)(message.name, ...message.args)
        return
      case 'log':
        this.#log[message.level](message.message)
        return
      case 'ask':
        void this.#answer(message.id, message.hints)
        return
      case 'stopped':
        this.#onStopped?.()
        return
    }
  }

  async #answer(id: number, hints: Parameters<NonNullable<SessionOptions['approveBundleHints']>>[0]): Promise<void> {
    try {
      const approved = await this.options.approveBundleHints!(hints)
      this.#post({ kind: 'answer', id, ok: true, value: [...approved] })
    } catch (error) {
      this.#post({ kind: 'answer', id, ok: false, error: wireError(error) })
    }
  }

  #apply(status: EngineStatus): void {
    this.online = status.online
    this.endpointId = status.endpointId
    this.ticket = status.ticket
    this.peerName = status.peerName
    this.tonk = status.tonk
    // 'starting' and 'stopping' are the host's to say (the worker starts before its Session does).
    if (status.state === 'running' || (status.state === 'stopped' && this.state !== 'stopping')) this.#setState(status.state)
  }

  #setState(state: SessionState): void {
    if (this.state === state) return
    this.state = state
    this.emit('state', state)
  }

  #onExit(error: Error | undefined): void {
    if (this.#exited) return
    this.#exited = true
    const reason = error ?? notRunning('the engine worker ended')
    for (const call of this.#calls.values()) call.reject(reason)
    this.#calls.clear()
    this.#onStarted?.reject(reason)
    this.#onStopped?.()
    if (this.state !== 'stopping' && this.state !== 'stopped') {
      if (error) this.#log.error(`remote session: ${error.message}`)
      this.#setState(error ? 'failed' : 'stopped')
    }
  }
}
