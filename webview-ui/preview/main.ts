// The shim injected into a previewed bundle app (before the app's own scripts): it takes the VS Code
// webview API for itself, runs an automerge-repo Repo in the page whose only network adapter relays to
// the session's Repo on the extension host, and gives the app `window.tonk` (docs/injected-api.md).
import { Automerge, initializeWasm, parseAutomergeUrl, Repo, type AutomergeUrl, type DocHandle, type DocumentId, type PeerId } from '@automerge/automerge-repo/slim'
import { DocPathError, DocTree, type DocContent } from '../../src/shared/vfs/doc-tree'
import type { AdapterFrame, HostToPreview, PreviewInit, PreviewNetwork, PreviewPanelState, PreviewToHost } from '../../src/protocol/preview'
import { parseAdapterFrame } from '../../src/shared/frames'
import { PostMessageNetworkAdapter } from '../../src/shared/postmessage-adapter'
import { startPresence, type TonkPresence } from '../../src/shared/presence'
import { tonkVfsApi, type TonkVfsApi } from '../../src/shared/vfs/tonk-api'

declare function acquireVsCodeApi(): { postMessage(message: PreviewToHost): void; setState(state: PreviewPanelState): void }

// First thing, before any app script runs: the API can be acquired once, and only the shim holds it.
// The app can neither post to the extension host nor reach the workbench (VS Code removes
// window.parent/top from the page), so its only way out is the adapter below.
const vscodeApi = acquireVsCodeApi()
try {
  delete (globalThis as { acquireVsCodeApi?: unknown }).acquireVsCodeApi
} catch {
  /* non-configurable: a second acquire throws anyway */
}

const post = (message: PreviewToHost) => vscodeApi.postMessage(message)
const log = (level: 'info' | 'warn' | 'error', message: string) => {
  post({ type: 'log', level, message })
  if (level !== 'info') console[level](`[tonk] ${message}`)
}

/** When this page started (performance.now() of the webview document): reload timings are told from it. */
const pageStart = performance.timeOrigin ? 0 : performance.now()
// Automerge's WASM is a file next to this script (esbuild copies it): fetched and compiled from now on,
// while the page loads and asks the host for its init, not after.
const automergeReady = initializeWasm(new Request(new URL('automerge.wasm', (document.currentScript as HTMLScriptElement).src)))
automergeReady.catch(() => {}) // awaited (and reported) in start()

const frameSubscribers = new Set<(frame: AdapterFrame) => void>()
let started = false
/** The session's network as the host last said (`tonk.network`); online until told otherwise. */
let network: PreviewNetwork = { online: true, peers: 0 }

/** Ours (keepsync-era names: readDoc, writeDoc, ls, listen) and Tonk's own VFS names (readFile, setFile, watchDirectory…). */
export interface TonkRuntime extends TonkVfsApi {
  ready: Promise<void>
  peerId: string
  bundle: PreviewInit['bundle']
  /** The host session's network now: offline (you went offline) or the number of connected peers. */
  readonly network: PreviewNetwork
  rootUrl: AutomergeUrl
  repo: Repo
  readDoc<T = DocContent>(path: string): Promise<T | undefined>
  writeDoc(path: string, value: DocContent): Promise<AutomergeUrl>
  changeDoc<T = DocContent>(path: string, fn: (doc: T) => void): Promise<void>
  ls(path: string): Promise<Array<{ name: string; type: 'doc' | 'dir'; url: AutomergeUrl }>>
  listen<T = DocContent>(path: string, cb: (value: T | undefined) => void): () => void
  /** Who else has the app open and what each shares for the moment (docs/injected-api.md). */
  presence: TonkPresence
}

declare global {
  interface Window {
    tonk?: TonkRuntime
  }
}

/** Messages from the extension host only: not the page posting to itself, not frames the app made. */
function fromHost(event: MessageEvent): boolean {
  if (event.source === window) return false
  for (let i = 0; i < window.frames.length; i++) if (event.source === window.frames[i]) return false
  return true
}

window.addEventListener('message', (event: MessageEvent<HostToPreview>) => {
  if (!fromHost(event)) return
  const message = event.data
  if (!message || typeof message !== 'object') return
  switch (message.type) {
    case 'init':
      if (started) return // a second init (the host re-sent it): the page is running already
      started = true
      // Kept by VS Code: after a window reload the panel comes back to this app (webviews/restore.ts).
      vscodeApi.setState({ app: message.init.bundle.name })
      start(message.init).catch((err: Error) => log('error', `could not start the Tonk runtime: ${err.stack ?? err}`))
      return
    case 'adapter': {
      const frame = parseAdapterFrame(message.frame)
      if (frame) for (const fn of frameSubscribers) fn(frame)
      else log('warn', `dropped a malformed frame from the host: ${describe(message.frame)}`)
      return
    }
    case 'session-ended':
      log('info', 'the P2P session stopped: this page no longer syncs')
      window.dispatchEvent(new Event('tonk:session-ended'))
      return
    case 'network':
      if (typeof message.network?.online !== 'boolean' || typeof message.network.peers !== 'number') return
      network = Object.freeze({ online: message.network.online, peers: message.network.peers })
      window.dispatchEvent(new CustomEvent('tonk:network', { detail: network }))
      return
    case 'reloading':
      window.dispatchEvent(new Event('tonk:reloading'))
      return
  }
})

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value
  const r = value as Record<string, unknown>
  const bytes = r.bytes as { constructor?: { name?: string } } | undefined
  return `kind ${String(r.kind)}, bytes ${typeof bytes} ${bytes?.constructor?.name ?? ''}`
}

async function start(init: PreviewInit): Promise<void> {
  const t0 = performance.now()
  await automergeReady
  const tWasm = performance.now()
  const adapter = new PostMessageNetworkAdapter(
    {
      post: (frame) => post({ type: 'adapter', frame }),
      subscribe: (fn) => {
        frameSubscribers.add(fn)
        return () => void frameSubscribers.delete(fn)
      },
    },
    { onDrop: (reason) => log('warn', `adapter dropped ${reason}`) },
  )
  // No storage: the session's Repo on the host stores and syncs everything; the page is a view of it.
  const repo = new Repo({ network: [adapter], peerId: `preview-${crypto.randomUUID()}` as PeerId })
  // A find() before the host is connected would report the document unavailable at once.
  await adapter.whenPeer()
  const tPeer = performance.now()
  const rootUrl = init.rootUrl as AutomergeUrl
  if (init.rootBytes instanceof Uint8Array) {
    // Same id, same history as the host's copy: importing it saves the first sync round trip.
    try {
      repo.import(init.rootBytes, { docId: parseAutomergeUrl(rootUrl).documentId })
    } catch (err) {
      log('warn', `could not start from the host's root document: ${err}`)
    }
  }
  reportOwnActors(repo)
  const root = await repo.find<never>(rootUrl, { signal: AbortSignal.timeout(30_000) })
  const tRoot = performance.now()
  const tree = new DocTree(repo, root, { findTimeoutMs: 30_000 })
  const running = startPresence(root, { peerId: init.peerId, name: init.peerName, kind: 'page' }, (peers) =>
    window.dispatchEvent(new CustomEvent('tonk:presence', { detail: peers })),
  )
  // A closing page says goodbye, so the others drop it at once instead of after the TTL.
  addEventListener('pagehide', () => running.stop(), { once: true })
  const { stop: _stop, ...presence } = running

  const tonk: TonkRuntime = {
    ready: Promise.resolve(),
    peerId: init.peerId,
    bundle: Object.freeze({ ...init.bundle }),
    get network() {
      return network
    },
    rootUrl,
    repo,
    readDoc: (path) => tree.readDoc(path),
    writeDoc: (path, value) => tree.writeDoc(path, value),
    async changeDoc(path, fn) {
      try {
        await tree.changeDoc(path, fn)
      } catch (err) {
        if (!(err instanceof DocPathError && err.code === 'NOT_FOUND')) throw err
        // Documented: a missing document is created as {} (with its parent directories) first.
        await tree.writeDoc(path, {})
        await tree.changeDoc(path, fn)
      }
    },
    async ls(path) {
      return (await tree.ls(path)).map(({ name, type, url }) => ({ name, type, url }))
    },
    listen: (path, cb) => tree.listen(path, (value) => cb(value as never)),
    presence,
    // Tonk's names, for apps written against @tonk/core's TonkCore.
    ...tonkVfsApi(tree, repo),
  }
  Object.defineProperty(window, 'tonk', { value: Object.freeze(tonk), configurable: false, writable: false, enumerable: true })
  const ms = (a: number, b: number) => Math.round(b - a)
  log(
    'info',
    `runtime ready: ${init.bundle.name}@${init.bundle.version} as ${init.peerId.slice(0, 10)} in ${ms(pageStart, tRoot)} ms ` +
      `(page to init ${ms(pageStart, t0)}, automerge ${ms(t0, tWasm)}, host ${ms(tWasm, tPeer)}, root ${ms(tPeer, tRoot)})`,
  )
  window.dispatchEvent(new Event('tonk:ready'))
}

post({ type: 'ready' })

/**
 * Tells the host each actor this page changes a document with (once each), so the inspector's history
 * names the app's own changes "you" (the page's Repo is not the session's: its actors are its own).
 */
function reportOwnActors(repo: Repo): void {
  const told = new Set<string>()
  const watched = new WeakSet<DocHandle<unknown>>()
  const check = (handle: DocHandle<unknown>) => {
    if (!handle.isReady()) return
    const doc = handle.doc()
    if (!Automerge.getLastLocalChange(doc)) return
    const actor = Automerge.getActorId(doc)
    if (told.has(actor)) return
    told.add(actor)
    post({ type: 'actor', actor })
  }
  const watch = (handle: DocHandle<unknown> | undefined) => {
    if (!handle || watched.has(handle)) return
    watched.add(handle)
    handle.on('change', () => check(handle))
    check(handle)
  }
  for (const handle of Object.values(repo.handles)) watch(handle)
  // A document the page creates or opens shows up in the sync metrics once it syncs with the host.
  repo.on('doc-metrics', (e) => {
    if ('documentId' in e && e.documentId) watch(repo.handles[e.documentId as DocumentId])
  })
}
