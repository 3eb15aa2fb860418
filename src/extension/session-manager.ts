// Owns the P2P sessions of this window, one per bundle (app) at most: start (from a bundle folder, zip or
// .tonk), stop, restart, hot reload, and the snapshots the views, the status bar and the context keys are
// drawn from. Several bundles run side by side, each its own Session with its own iroh endpoint and data
// dir (docs/architecture.md says why one endpoint per bundle); `current` is the active one (the last
// started or chosen) for callers that mean one session. Each session lives in its own scope of the Ctx,
// so one stops and starts again without touching the others or reloading the window.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as vscode from 'vscode'
import type { LoadedBundle } from '../core/bundle'
import type { SessionSnapshot } from '../core/session/session'
import type { RemoteSession as Session, RemoteSessionOptions } from '../core/session/remote/remote-session'
import { bundleHintApprover } from './bundle-hints'
import { tellEngineEnded } from './engine-ended'
import { chooseTonkRelay } from './tonk-relays'
import type { BundleCandidate } from './bundles'
import type { Ctx, SessionHost } from './ctx'
import { loadEngine } from './engine-loader'
import { engineLogger } from './log'
import { discoveryOptions, ignoredWorkspaceSettings, readSettings } from './settings'

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

/** One running session and what the views show of it. */
export interface RunningSession {
  /** `<name>-<appId…>` (the app's data folder): one per app; rows and commands name a session by it. */
  readonly id: string
  readonly session: Session
  readonly bundle: RunningBundle
  readonly snapshot: SessionSnapshot | undefined
}

interface Slot extends RunningSession {
  bundle: RunningBundle
  snapshot: SessionSnapshot | undefined
  snapshotting: boolean
  snapshotAgain: boolean
}

export class SessionManager implements SessionHost, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<Session | undefined>()
  private readonly startEmitter = new vscode.EventEmitter<Session>()
  private readonly stopEmitter = new vscode.EventEmitter<Session>()
  private readonly snapshotEmitter = new vscode.EventEmitter<SessionSnapshot | undefined>()
  /** The active session changed (started, stopped, chosen); undefined once none runs. */
  readonly onDidChange = this.changeEmitter.event
  /** A session of any bundle started (after its scope exists). */
  readonly onDidStart = this.startEmitter.event
  /** A session of any bundle stopped (also the old one of a restart). */
  readonly onDidStop = this.stopEmitter.event
  /** A session's snapshot changed (undefined when one stopped): read `list()` for all of them. Batched. */
  readonly onDidSnapshot = this.snapshotEmitter.event

  /** Running sessions in start order. */
  private readonly slots: Slot[] = []
  private active: Slot | undefined
  private lastCandidate: BundleCandidate | undefined
  /** Serializes start/stop so two clicks never race on one data dir. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly ctx: Ctx) {
    void this.updateContext()
    this.configListener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('tonk.logLevel')) return
      const levels = loadEngine().levelsFrom(readSettings().logLevel)
      for (const slot of this.slots) slot.session.setLogLevels(levels)
    })
  }
  private readonly configListener: vscode.Disposable

  /** The active session while it runs. */
  get current(): Session | undefined {
    return this.active?.session.state === 'running' ? this.active.session : undefined
  }

  /** The active session's bundle. */
  get bundle(): RunningBundle | undefined {
    return this.active?.bundle
  }

  /** The active session's latest snapshot. */
  get snapshot(): SessionSnapshot | undefined {
    return this.active?.snapshot
  }

  /** Every running session, in start order. */
  list(): readonly RunningSession[] {
    return this.slots
  }

  byId(id: string): RunningSession | undefined {
    return this.slots.find((s) => s.id === id)
  }

  of(session: Session): RunningSession | undefined {
    return this.slots.find((s) => s.session === session)
  }

  /** Makes a running session the active one (what single-session commands and new panels use). */
  select(id: string): boolean {
    const slot = this.slots.find((s) => s.id === id)
    if (!slot) return false
    if (slot !== this.active) {
      this.active = slot
      this.changeEmitter.fire(slot.session)
      void this.updateContext()
    }
    return true
  }

  /** The bundle the last session ran (for a restart). */
  get lastBundle(): BundleCandidate | undefined {
    return this.lastCandidate
  }

  /**
   * Starts a session on a bundle, next to the sessions of other bundles. A running session of the same
   * app is stopped first (so Start on it is a restart, and a folder is packed again: edits since the
   * last start are picked up).
   */
  start(candidate: BundleCandidate): Promise<Session> {
    return this.enqueue(async () => {
      try {
        return await this.startNow(candidate)
      } finally {
        this.restarting = false
      }
    })
  }

  /** True while start() replaces a running session of the same app (onDidStart listeners bring things back). */
  get isRestart(): boolean {
    return this.restarting
  }
  private restarting = false

  /** Stops `session` (default: the active one). */
  stop(session?: Session): Promise<void> {
    return this.enqueue(async () => {
      const slot = session ? this.slots.find((s) => s.session === session) : this.active
      if (slot) await this.stopNow(slot)
    })
  }

  /** Stops every session. */
  stopAll(): Promise<void> {
    return this.enqueue(async () => {
      for (const slot of [...this.slots].reverse()) await this.stopNow(slot)
    })
  }

  /**
   * Hot reload: packs `session`'s folder again and, if its content changed, serves the new build in the
   * same session (same documents, identity and connections). Returns the new bundle, or undefined when
   * nothing changed. Throws a BundleError for a folder that does not pack, E_RELOAD_OTHER_APP when the
   * app's identity changed.
   */
  reloadFromFolder(session: Session): Promise<LoadedBundle | undefined> {
    return this.enqueue(async () => {
      const slot = this.slots.find((s) => s.session === session)
      if (!slot || session.state !== 'running' || slot.bundle.candidate.kind !== 'folder') return undefined
      const engine = loadEngine()
      const packed = await engine.packDirectory(slot.bundle.candidate.uri.fsPath)
      if (packed.bundleId === session.bundle.bundleId) return undefined
      const bundle = await engine.loadBundle(packed.zip)
      await session.reloadBundle(bundle)
      slot.bundle = { candidate: slot.bundle.candidate, bundle, zipPath: this.zipWriter(session, bundle, packed.zip) }
      void this.takeSnapshot(slot)
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

  /** Asks for new snapshots now (views call this after an action that does not emit 'changed'). */
  refresh(): void {
    for (const slot of this.slots) void this.takeSnapshot(slot)
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
    const id = `${safeName(m.name)}-${engine.appCapability(m.sync).appId.slice(0, 12)}`
    const bundleDir = join(base, id)
    // Another build of a running app replaces it (a restart); other apps keep running.
    const same = this.slots.find((s) => s.id === id)
    if (same) {
      this.restarting = true
      await this.stopNow(same)
    }
    const discovery = discoveryOptions(settings)
    if (candidate.kind === 'tonk' && !discovery.bridge && 'tonk' in bundle) {
      // The file's relays (networkUris): only with the user's yes (tonk-relays.ts).
      const { tonk } = bundle as LoadedBundle & { tonk: { rootId: string; manifest: { networkUris?: string[] } } }
      const relay = await chooseTonkRelay(this.ctx.extension.globalState, log, { name: candidate.label, rootId: tonk.rootId, relays: engine.tonkRelayUris(tonk.manifest) })
      if (relay) discovery.bridge = relay
    }
    const options: Omit<RemoteSessionOptions, 'dataDir'> = {
      peerName: settings.peerName || undefined,
      relays: settings.relays,
      maxFrameBytes: settings.maxFrameBytes,
      logger: engineLogger(log, () => readSettings().logLevel, m.name),
      // Lines below the level stay in the engine's thread (set again when the setting changes).
      logLevels: engine.levelsFrom(settings.logLevel),
      ...discovery,
      approveBundleHints: bundleHintApprover(this.ctx.extension.globalState, log, { name: m.name, appId: engine.appCapability(m.sync).appId }),
      // A test seam (the engine-crash scenario): another script for the engine's thread, from the
      // environment VS Code was started in, never from settings a workspace could set.
      ...(process.env.TONK_ENGINE_WORKER_FILE && { workerFile: process.env.TONK_ENGINE_WORKER_FILE }),
    }

    let session: Session | undefined
    for (const profile of PROFILES) {
      const dataDir = join(bundleDir, profile)
      await mkdir(dataDir, { recursive: true, mode: 0o700 }) // a data dir is owner-only (core/host/data-dir.ts)
      const candidateSession = await engine.RemoteSession.open(bundle, { ...options, dataDir })
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
    const started = session

    // Local peers must serve the very bundle of this session, even if the folder changed since.
    const writeZip = this.zipWriter(session, bundle, packedZip)
    // A zip or a .tonk is served by local peers as it is; a folder as the zip it was packed into.
    const running: RunningBundle = { candidate, bundle, zipPath: async () => (candidate.kind !== 'folder' ? candidate.uri.fsPath : writeZip()) }
    const slot: Slot = { id, session, bundle: running, snapshot: undefined, snapshotting: false, snapshotAgain: false }
    this.slots.push(slot)
    this.active = slot
    const onChanged = () => void this.takeSnapshot(slot)
    const onState = (state: string) => {
      if (state === 'failed' || state === 'stopped') void this.updateContext()
      if (state === 'failed' && this.slots.includes(slot)) this.engineEnded(slot)
    }
    // Presence (who has the app open, what each shares) shows on the peer rows: peers only, no walk.
    const onPresence = () => void this.refreshPeers(slot)
    session.on('changed', onChanged)
    session.on('state', onState)
    session.on('presence', onPresence)
    const peerTick = setInterval(() => void this.refreshPeers(slot), PEER_TICK_MS)
    this.ctx.ownForSession(session, {
      dispose: () => {
        clearInterval(peerTick)
        started.off('changed', onChanged)
        started.off('state', onState)
        started.off('presence', onPresence)
      },
    })
    log.info(`session started: ${m.name}@${m.version} (bundle ${bundle.bundleId.slice(0, 12)}) as ${session.endpointId} in ${session.options.dataDir}${this.slots.length > 1 ? ` (${this.slots.length} sessions run)` : ''}`)
    await this.updateContext()
    this.startEmitter.fire(session)
    this.changeEmitter.fire(session)
    await this.takeSnapshot(slot)
    return session
  }

  /** Its engine's thread died (an uncaught exception, out of memory): stopped as if by the user (no view
   *  shows a session that no longer runs), then the user is told, with a restart on the same data. */
  private engineEnded(slot: Slot): void {
    const { name } = slot.session.bundle.manifest
    this.ctx.log.error(`session of ${name}: its engine ended unexpectedly (the lines above say why)`)
    void this.stop(slot.session)
      .catch((err) => this.ctx.log.error(`stopping ${name} after its engine ended: ${(err as Error).message}`))
      .then(() => tellEngineEnded(this.ctx, name, () => this.start(slot.bundle.candidate)))
  }

  private readonly stopHooks: ((session: Session) => Promise<void>)[] = []

  /** Work awaited before a session stops (its local peers end first, so stop resolves with them gone). */
  beforeStop(hook: (session: Session) => Promise<void>): vscode.Disposable {
    this.stopHooks.push(hook)
    return { dispose: () => void this.stopHooks.splice(this.stopHooks.indexOf(hook) >>> 0, 1) }
  }

  private async stopNow(slot: Slot): Promise<void> {
    const index = this.slots.indexOf(slot)
    if (index < 0) return
    const session = slot.session
    await Promise.allSettled(this.stopHooks.map((hook) => hook(session)))
    // Session-scoped things first (local peers, listeners, webviews), then the session itself.
    this.ctx.endSessionScope(session)
    this.slots.splice(index, 1)
    const wasActive = this.active === slot
    if (wasActive) this.active = this.slots.at(-1)
    await session.stop() // never throws
    this.ctx.log.info(`session stopped: ${session.bundle.manifest.name}`)
    await this.updateContext()
    this.stopEmitter.fire(session)
    if (wasActive) this.changeEmitter.fire(this.current)
    this.snapshotEmitter.fire(undefined)
  }

  /** Peer rows only (RTT, bytes): no document walk; skipped while a full snapshot is on its way. */
  private async refreshPeers(slot: Slot): Promise<void> {
    const snap = slot.snapshot
    if (slot.snapshotting || !this.slots.includes(slot) || !snap?.peers.some((p) => p.state === 'connected')) return
    const peers = await slot.session.peers().catch(() => undefined)
    // A full snapshot that landed meanwhile is newer than these rows.
    if (!peers || slot.snapshotting || slot.snapshot !== snap || !this.slots.includes(slot)) return
    slot.snapshot = { ...snap, peers }
    this.snapshotEmitter.fire(slot.snapshot)
  }

  private async takeSnapshot(slot: Slot): Promise<void> {
    // One snapshot in flight per session; events meanwhile ask for exactly one more.
    if (slot.snapshotting) {
      slot.snapshotAgain = true
      return
    }
    slot.snapshotting = true
    try {
      do {
        slot.snapshotAgain = false
        if (!this.slots.includes(slot)) return
        const snap = await slot.session.snapshot()
        if (!this.slots.includes(slot)) return
        slot.snapshot = snap
        this.snapshotEmitter.fire(snap)
        await this.updateContext()
      } while (slot.snapshotAgain)
    } catch (err) {
      this.ctx.log.warn(`session snapshot failed: ${(err as Error).message}`)
    } finally {
      slot.snapshotting = false
    }
  }

  private contextState = ''
  /** tonk.sessionRunning: any session runs; tonk.online: every one is online (Go Offline/Online act on all). */
  private async updateContext(): Promise<void> {
    const running = this.slots.filter((s) => s.session.state === 'running')
    const online = running.length > 0 && running.every((s) => s.snapshot?.online ?? s.session.online)
    const key = `${running.length > 0}/${online}`
    if (key === this.contextState) return
    this.contextState = key
    await vscode.commands.executeCommand('setContext', 'tonk.sessionRunning', running.length > 0)
    await vscode.commands.executeCommand('setContext', 'tonk.online', online)
  }

  /** Stops every session (deactivate and dispose wait for it). */
  async shutdown(): Promise<void> {
    await this.stopAll()
  }

  dispose(): void {
    void this.shutdown()
    this.changeEmitter.dispose()
    this.startEmitter.dispose()
    this.stopEmitter.dispose()
    this.snapshotEmitter.dispose()
    this.configListener.dispose()
  }
}

/** `@scope/name` → `scope-name`: a folder name on every platform. */
export function safeName(name: string): string {
  return name.replace(/^@/, '').replace(/[^a-zA-Z0-9._-]+/g, '-')
}
