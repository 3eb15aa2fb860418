// Owns the P2P session of this window: start (from a bundle folder or zip), stop, restart, and the
// snapshot the views, the status bar and the context keys are drawn from. The session lives in the
// Ctx's session scope, so it stops and starts again without reloading the window.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as vscode from 'vscode'
import type { LoadedBundle } from '../core/bundle'
import type { Session, SessionOptions, SessionSnapshot } from '../core/session/session'
import { bundleHintApprover } from './bundle-hints'
import { chooseTonkRelay } from './tonk-relays'
import type { BundleCandidate } from './bundles'
import type { Ctx, SessionHost } from './ctx'
import { loadEngine } from './engine-loader'
import { engineLogger } from './log'
import { ignoredWorkspaceSettings, readSettings } from './settings'

/** Windows of one editor share a bundle's data dir; the second one running it gets the next profile. */
const PROFILES = ['default', 'window-2', 'window-3', 'window-4']
/**
 * Bytes and RTT change without session events: while peers are connected their rows (only: no document
 * walk) are read again on this tick. The rows do not show them, so nothing is redrawn for them; a hovered
 * row's tooltip is resolved from the latest read (views/tree.ts).
 */
const PEER_TICK_MS = 5_000

export interface RunningBundle {
  candidate: BundleCandidate
  bundle: LoadedBundle
  /** A zip of exactly this bundle, for local peers (the folder may change while the session runs). */
  zipPath: () => Promise<string>
}

export class SessionManager implements SessionHost, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<Session | undefined>()
  private readonly snapshotEmitter = new vscode.EventEmitter<SessionSnapshot | undefined>()
  readonly onDidChange = this.changeEmitter.event
  /** A new snapshot of the current session (undefined when it stopped); batched, at most one in flight. */
  readonly onDidSnapshot = this.snapshotEmitter.event

  private session: Session | undefined
  private running: RunningBundle | undefined
  private lastCandidate: BundleCandidate | undefined
  private latestSnapshot: SessionSnapshot | undefined
  private snapshotting = false
  private snapshotAgain = false
  /** Serializes start/stop so two clicks never race on one data dir. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly ctx: Ctx) {
    void this.setContext(false, false)
  }

  get current(): Session | undefined {
    return this.session?.state === 'running' ? this.session : undefined
  }

  get bundle(): RunningBundle | undefined {
    return this.running
  }

  get snapshot(): SessionSnapshot | undefined {
    return this.latestSnapshot
  }

  /** The bundle the last session ran (for a restart). */
  get lastBundle(): BundleCandidate | undefined {
    return this.lastCandidate
  }

  /**
   * Starts a session on a bundle; a running session is stopped first (so Start on a running session is
   * a restart, and a folder is packed again: edits since the last start are picked up).
   */
  start(candidate: BundleCandidate): Promise<Session> {
    return this.enqueue(async () => {
      this.restarting = this.session !== undefined
      try {
        await this.stopNow()
        return await this.startNow(candidate)
      } finally {
        this.restarting = false
      }
    })
  }

  /** True while start() replaces a running session (listeners of onDidChange may bring things back). */
  get isRestart(): boolean {
    return this.restarting
  }
  private restarting = false

  stop(): Promise<void> {
    return this.enqueue(() => this.stopNow())
  }

  /**
   * Hot reload: packs the running folder again and, if its content changed, serves the new build in the
   * same session (same documents, identity and connections). Returns the new bundle, or undefined when
   * nothing changed. Throws a BundleError for a folder that does not pack, E_RELOAD_OTHER_APP when the
   * app's identity changed.
   */
  reloadFromFolder(): Promise<LoadedBundle | undefined> {
    return this.enqueue(async () => {
      const session = this.current
      const running = this.running
      if (!session || !running || running.candidate.kind !== 'folder') return undefined
      const engine = loadEngine()
      const packed = await engine.packDirectory(running.candidate.uri.fsPath)
      if (packed.bundleId === session.bundle.bundleId) return undefined
      const bundle = await engine.loadBundle(packed.zip)
      await session.reloadBundle(bundle)
      this.running = { candidate: running.candidate, bundle, zipPath: this.zipWriter(session, bundle, packed.zip) }
      void this.takeSnapshot()
      return bundle
    })
  }

  /** A zip of exactly `bundle` for local peers, written once into the session's data dir when first asked. */
  private zipWriter(session: Session, bundle: LoadedBundle, zip: Uint8Array | undefined): () => Promise<string> {
    let zipFile: string | undefined
    return async () => {
      if (!zipFile) {
        const dir = join(session.options.dataDir, 'local-peers')
        await mkdir(dir, { recursive: true })
        zipFile = join(dir, `bundle-${bundle.bundleId.slice(0, 12)}.zip`)
        await writeFile(zipFile, zip ?? loadEngine().writeBundleZip(bundle.manifest, bundle.files))
      }
      return zipFile
    }
  }

  /** Asks for a new snapshot now (views call this after an action that does not emit 'changed'). */
  refresh(): void {
    void this.takeSnapshot()
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job)
    this.queue = next.catch(() => {})
    return next
  }

  private async startNow(candidate: BundleCandidate): Promise<Session> {
    // The command says so first (with a way to trust the workspace); this also covers other callers.
    if (!vscode.workspace.isTrusted) {
      throw Object.assign(new Error('P2P sessions need a trusted workspace (this window is in Restricted Mode)'), { code: 'E_UNTRUSTED_WORKSPACE' })
    }
    const engine = loadEngine()
    const settings = readSettings()
    const log = this.ctx.log
    const ignored = ignoredWorkspaceSettings()
    if (ignored.length) log.warn(`workspace settings cannot set ${ignored.join(', ')}: ignored (set them in user settings)`)
    this.lastCandidate = candidate
    let bundle: LoadedBundle
    let packedZip: Uint8Array | undefined
    if (candidate.kind === 'folder') {
      const packed = await engine.packDirectory(candidate.uri.fsPath)
      packedZip = packed.zip
      bundle = await engine.loadBundle(packed.zip)
    } else if (candidate.kind === 'tonk') {
      bundle = await engine.loadTonkAsBundle(candidate.uri.fsPath)
    } else {
      bundle = await engine.loadBundle(candidate.uri.fsPath)
    }
    const m = bundle.manifest
    const base = settings.dataDir || this.ctx.extension.globalStorageUri.fsPath
    // One data dir per app, not per build: an edited folder keeps its documents, identity and local peers.
    const bundleDir = join(base, `${safeName(m.name)}-${engine.appCapability(m.sync).appId.slice(0, 12)}`)
    const discovery = discoveryOptions(settings)
    if (candidate.kind === 'tonk' && !discovery.bridge && 'tonk' in bundle) {
      // The file's relays (networkUris): only with the user's yes (tonk-relays.ts).
      const { tonk } = bundle as LoadedBundle & { tonk: { rootId: string; manifest: { networkUris?: string[] } } }
      const relay = await chooseTonkRelay(this.ctx.extension.globalState, log, { name: candidate.label, rootId: tonk.rootId, relays: engine.tonkRelayUris(tonk.manifest) })
      if (relay) discovery.bridge = relay
    }
    const options: Omit<SessionOptions, 'dataDir'> = {
      peerName: settings.peerName || undefined,
      relays: settings.relays,
      maxFrameBytes: settings.maxFrameBytes,
      logger: engineLogger(log, () => readSettings().logLevel),
      ...discovery,
      approveBundleHints: bundleHintApprover(this.ctx.extension.globalState, log, { name: m.name, appId: engine.appCapability(m.sync).appId }),
    }

    let session: Session | undefined
    for (const profile of PROFILES) {
      const dataDir = join(bundleDir, profile)
      await mkdir(dataDir, { recursive: true, mode: 0o700 }) // a data dir is owner-only (core/host/data-dir.ts)
      const candidateSession = await engine.Session.open(bundle, { ...options, dataDir })
      try {
        await candidateSession.start()
        session = candidateSession
        break
      } catch (err) {
        if ((err as { code?: string }).code !== 'E_DATA_DIR_LOCKED' || profile === PROFILES.at(-1)) throw err
        log.info(`data dir ${dataDir} is in use (another window?): trying the next profile`)
      }
    }
    if (!session) throw new Error('no session started') // unreachable: the loop throws or breaks

    this.session = session
    // Local peers must serve the very bundle of this session, even if the folder changed since.
    const writeZip = this.zipWriter(session, bundle, packedZip)
    // A zip or a .tonk is served by local peers as it is; a folder as the zip it was packed into.
    this.running = { candidate, bundle, zipPath: async () => (candidate.kind !== 'folder' ? candidate.uri.fsPath : writeZip()) }
    const onChanged = () => void this.takeSnapshot()
    const onState = (state: string) => {
      if (state === 'failed' || state === 'stopped') void this.setContext(false, false)
    }
    // Presence (who has the app open, what each shares) shows on the peer rows: peers only, no walk.
    const onPresence = () => this.refreshPeers(session)
    session.on('changed', onChanged)
    session.on('state', onState)
    session.on('presence', onPresence)
    const peerTick = setInterval(() => this.refreshPeers(session), PEER_TICK_MS)
    this.ctx.ownForSession({
      dispose: () => {
        clearInterval(peerTick)
        session.off('changed', onChanged)
        session.off('state', onState)
        session.off('presence', onPresence)
      },
    })
    log.info(`session started: ${m.name}@${m.version} (bundle ${bundle.bundleId.slice(0, 12)}) as ${session.endpointId} in ${session.options.dataDir}`)
    await this.setContext(true, session.online)
    this.changeEmitter.fire(session)
    await this.takeSnapshot()
    return session
  }

  private readonly stopHooks: (() => Promise<void>)[] = []

  /** Work awaited before a session stops (local peers end first, so stop resolves with them gone). */
  beforeStop(hook: () => Promise<void>): vscode.Disposable {
    this.stopHooks.push(hook)
    return { dispose: () => void this.stopHooks.splice(this.stopHooks.indexOf(hook) >>> 0, 1) }
  }

  private async stopNow(): Promise<void> {
    const session = this.session
    if (!session) return
    await Promise.allSettled(this.stopHooks.map((hook) => hook()))
    // Session-scoped things first (local peers, listeners, webviews), then the session itself.
    this.ctx.endSessionScope()
    this.session = undefined
    this.running = undefined
    await session.stop() // never throws
    this.ctx.log.info(`session stopped: ${session.bundle.manifest.name}`)
    this.latestSnapshot = undefined
    await this.setContext(false, false)
    this.changeEmitter.fire(undefined)
    this.snapshotEmitter.fire(undefined)
  }

  /** Peer rows only (RTT, bytes): no document walk; skipped while a full snapshot is on its way. */
  private refreshPeers(session: Session): void {
    const snap = this.latestSnapshot
    if (this.snapshotting || session !== this.session || !snap?.peers.some((p) => p.state === 'connected')) return
    this.latestSnapshot = { ...snap, peers: session.peers() }
    this.snapshotEmitter.fire(this.latestSnapshot)
  }

  private async takeSnapshot(): Promise<void> {
    // One snapshot in flight; events meanwhile ask for exactly one more.
    if (this.snapshotting) {
      this.snapshotAgain = true
      return
    }
    this.snapshotting = true
    try {
      do {
        this.snapshotAgain = false
        const session = this.session
        if (!session) return
        const snap = await session.snapshot()
        if (session !== this.session) return
        this.latestSnapshot = snap
        this.snapshotEmitter.fire(snap)
        await this.setContext(snap.state === 'running', snap.online)
      } while (this.snapshotAgain)
    } catch (err) {
      this.ctx.log.warn(`session snapshot failed: ${(err as Error).message}`)
    } finally {
      this.snapshotting = false
    }
  }

  private contextState = ''
  private async setContext(running: boolean, online: boolean): Promise<void> {
    const key = `${running}/${online}`
    if (key === this.contextState) return
    this.contextState = key
    await vscode.commands.executeCommand('setContext', 'tonk.sessionRunning', running)
    await vscode.commands.executeCommand('setContext', 'tonk.online', online)
  }

  /** Stops the session (deactivate and dispose wait for it). */
  async shutdown(): Promise<void> {
    await this.stop()
  }

  dispose(): void {
    void this.shutdown()
    this.changeEmitter.dispose()
    this.snapshotEmitter.dispose()
  }
}

/** `@scope/name` → `scope-name`: a folder name on every platform. */
export function safeName(name: string): string {
  return name.replace(/^@/, '').replace(/[^a-zA-Z0-9._-]+/g, '-')
}

/**
 * The discovery and bridge settings as SessionOptions. tonk.discovery.dhtBootstrap empty with the DHT on
 * means the public BitTorrent routers (the setting's documented meaning); a list joins through it.
 */
export function discoveryOptions(settings: ReturnType<typeof readSettings>): Pick<SessionOptions, 'discovery' | 'bridge'> {
  const { mdns, exchange, dht, dhtBootstrap } = settings.discovery
  return {
    discovery: { mdns, exchange, dht: dht ? (dhtBootstrap.length ? { bootstrap: dhtBootstrap } : true) : false },
    ...(settings.bridge ? { bridge: settings.bridge } : {}),
  }
}
