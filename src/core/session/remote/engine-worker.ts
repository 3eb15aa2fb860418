// The engine worker: one Session on a worker thread, so what stalls the engine (a bulk frame's merges,
// loading a root that indexes thousands of paths: one Automerge call no slice can split) never holds the
// host's event loop. Started by RemoteSession (remote-session.ts); speaks protocol.ts. The worker's
// script is out/engine-worker.cjs, one line written by esbuild.mjs that calls runEngineWorker() from
// out/engine.cjs (one copy of the engine in a VSIX). iroh's native addon loads per thread: several
// workers in one process each run their own endpoint.
import { format } from 'node:util'
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { Automerge, type DocumentId, type PeerId } from '@automerge/automerge-repo/slim'
import type { BundleHint } from '../../bundle/hints'
import type {
  EngineCalls,
  EngineMethod,
  EngineStatus,
  EngineWorkerData,
  HostToWorker,
  LogLevel,
  WireError,
  WorkerToHost,
} from './protocol'
import { parseAdapterFrame } from '../../../shared/frames'
import { PostMessageNetworkAdapter } from '../../../shared/postmessage-adapter'
import type { Logger } from '../../../shared/log'
import { extractVfsSite, resolveSiteEntry, siteKey } from '../../tonk/vfs-site'
import { initAutomerge } from '../../util/automerge'
import { Session } from '../session'
import type { SessionEvents } from '../types'
import { fromWireError, notRunning, portChannel, wireError } from './wire'

/** The worker thread's whole life: call once, on the thread RemoteSession started. */
export function runEngineWorker(): void {
  const host = parentPort
  if (!host) throw new Error('engine-worker.ts runs as a worker thread (RemoteSession starts it)')
  const { bundle, options } = workerData as EngineWorkerData
  const post = (message: WorkerToHost) => host.postMessage(message)

  /**
   * Session events the host listens to (it says so with `listen`): only those cross. A trace event per
   * message and a doc-changed per document, posted unasked, cost a 2,000-document catch-up 1.9 s of CPU.
   */
  const forwarded = new Set<keyof SessionEvents>()
  const EVENTS: (keyof SessionEvents)[] = ['state', 'changed', 'trace', 'peer-refused', 'doc-changed', 'presence']

  let levels = new Set<LogLevel>(options.logLevels ?? [])
  const line = (level: LogLevel) => (message: string, ...details: unknown[]) => {
    if (levels.has(level)) post({ kind: 'log', level, message: details.length > 0 ? format(message, ...details) : message })
  }
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  // A stray promise rejection ends a worker thread (Node's default), and with it the session: in the
  // extension host, where the engine ran before, VS Code logged them and went on. automerge-repo 2.5.6
  // makes one when a peer that claimed a document is gone before sending it (serve.ts says more). Log
  // it, to the host's log whatever the levels it asked for, and keep serving.
  process.on('unhandledRejection', (reason) => {
    post({ kind: 'log', level: 'error', message: `unhandled rejection (kept running): ${(reason as Error)?.stack ?? String(reason)}` })
  })

  // What only the host can decide: asked, answered by id.
  const asks = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let lastAsk = 0
  const askHost = (hints: BundleHint[]) =>
    new Promise<readonly BundleHint[]>((resolve, reject) => {
      const id = ++lastAsk
      asks.set(id, { resolve: resolve as (v: unknown) => void, reject })
      post({ kind: 'ask', id, what: 'approveBundleHints', hints })
    })

  let session: Session | undefined
  /** Adapters of the host's Repos (`attach`), by id. */
  const attached = new Map<number, () => void>()

  function status(s: Session): EngineStatus {
    return { state: s.state, online: s.online, endpointId: s.endpointId, ticket: s.ticket, peerName: s.peerName, tonk: s.tonk }
  }

  type Handlers = { [M in EngineMethod]: (...args: EngineCalls[M]['args']) => EngineCalls[M]['result'] | Promise<EngineCalls[M]['result']> }

  function handlers(s: Session): Handlers {
    return {
      snapshot: () => s.snapshot(),
      peers: () => s.peers(),
      trace: () => s.trace(),
      networkSummary: () => s.networkSummary(),
      dial: (ticket, source, strict) => s.dial(ticket, source, strict),
      disconnectPeer: (endpointId) => s.disconnectPeer(endpointId),
      reconnectPeer: (endpointId) => s.reconnectPeer(endpointId),
      goOffline: () => s.goOffline(),
      goOnline: () => s.goOnline(),
      setLinkFault: (endpointId, fault) => s.setLinkFault(endpointId, fault),
      pathOf: (url) => s.pathOf(url),
      resolvePath: (path) => s.docs.resolve(path),
      actorNames: (actors) => s.actorNames(actors),
      recordOwnActor: (actor) => s.recordOwnActor(actor),
      exportTonk: () => s.exportTonk(),
      bulkCounters: () => s.bulkCounters,
      readyCount: (ids) => ids.filter((id) => s.repo.handles[id as DocumentId]?.isReady()).length,
      reloadBundle: (bundle) => s.reloadBundle(bundle),
      writeDoc: (path, value) => s.docs.writeDoc(path, value),
      repoPeers: () => [...s.repo.peers],
      rootSnapshot: () => {
        const root = s.root
        return { url: root.url, ...(root.isReady() && { bytes: Automerge.save(root.doc()) }) }
      },
      previewSite: async (entrypoints, dir) => {
        const entry = entrypoints.map((e) => resolveSiteEntry(s.docs, e)).find((e) => e !== undefined)
        return entry && (await extractVfsSite(s.docs, s.repo, entry, dir))
      },
      siteKey: (folder) => siteKey(s.docs, s.repo, folder),
      peerList: () => s.peerList(),
      docPeers: (documentId) => {
        const handle = s.repo.handles[documentId as DocumentId]
        return s.peerList().map((p) => {
          const storageId = p.peerId ? s.repo.getStorageIdOfPeer(p.peerId as PeerId) : undefined
          const info = storageId && handle?.isReady() ? handle.getSyncInfo(storageId) : undefined
          return { endpointId: p.endpointId, name: p.name, state: p.state, sync: s.syncOf(documentId, p), theirHeads: info?.lastHeads, lastSyncAt: info?.lastSyncTimestamp }
        })
      },
      discoverySources: () => s.discoverySources,
    }
  }

  let calls: Handlers | undefined

  async function onCall(id: number, method: EngineMethod, args: unknown[]): Promise<void> {
    try {
      if (!calls) throw notRunning('the session is not running yet')
      const fn = Object.hasOwn(calls, method) ? (calls[method] as (...a: unknown[]) => unknown) : undefined
      if (!fn) throw Object.assign(new Error(`the engine has no method ${String(method).slice(0, 40)}`), { code: 'E_ENGINE_METHOD' })
      const value = await fn(...args)
      postStatus() // a call may have changed it (goOffline): current before the caller's await returns
      post({ kind: 'result', id, ok: true, value })
    } catch (error) {
      post({ kind: 'result', id, ok: false, error: wireError(error) })
    }
  }

  let lastStatus = ''
  /** Tells the host the session's status when it changed since last told. */
  function postStatus(): void {
    if (!session) return
    const now = status(session)
    const key = JSON.stringify(now)
    if (key === lastStatus) return
    lastStatus = key
    post({ kind: 'status', status: now })
  }

  function attach(id: number, name: string, port: MessagePort): void {
    const adapter = new PostMessageNetworkAdapter(portChannel(port, parseAdapterFrame), {
      onDrop: (reason) => logger.warn(`engine worker: dropped a frame from the host's ${name}: ${reason}`),
    })
    const detach = session!.attachAdapter(adapter, name)
    attached.set(id, () => {
      detach()
      adapter.disconnect()
      port.close()
    })
  }

  async function stop(): Promise<void> {
    for (const detach of attached.values()) detach()
    attached.clear()
    await session?.stop()
    post({ kind: 'stopped' })
  }

  host.on('message', (message: HostToWorker) => {
    switch (message.kind) {
      case 'call':
        void onCall(message.id, message.method, message.args)
        return
      case 'answer': {
        const ask = asks.get(message.id)
        asks.delete(message.id)
        if (message.ok) ask?.resolve(message.value)
        else ask?.reject(fromWireError(message.error))
        return
      }
      case 'listen':
        if (EVENTS.includes(message.name)) forwarded.add(message.name)
        return
      case 'unlisten':
        forwarded.delete(message.name)
        return
      case 'attach':
        // Only into a running Repo (its peer claims exist once the session has started).
        if (session?.state === 'running') attach(message.id, message.name, message.port)
        else message.port.close()
        return
      case 'log-levels':
        levels = new Set(message.levels)
        return
      case 'detach':
        attached.get(message.id)?.()
        attached.delete(message.id)
        return
      case 'stop':
        void stop()
        return
    }
  })

  async function main(): Promise<void> {
    await initAutomerge()
    const s = await Session.open(bundle, { ...options, logger, approveBundleHints: options.askBundleHints ? askHost : undefined })
    session = s
    calls = handlers(s)
    for (const name of EVENTS) {
      s.on(name, (...args: unknown[]) => {
        // The host's cached state is current when its listeners run.
        if (name === 'state' || name === 'changed') postStatus()
        if (forwarded.has(name)) post({ kind: 'event', name, args } as WorkerToHost)
      })
    }
    await s.start()
    const started = status(s)
    lastStatus = JSON.stringify(started)
    post({ kind: 'started', status: started })
  }

  main().catch((error: unknown) => post({ kind: 'failed', error: wireError(error) satisfies WireError }))
}
