// One Session per open bundle: it owns the iroh endpoint, the IrohNetworkAdapter, the automerge-repo
// Repo (crash-safe storage in the data dir) and the peer sources, and gives UIs (the extension's views,
// `tonk-p2p serve`) one snapshot plus change events. open() → start() → stop(); stop() never throws.
// Its shapes are in types.ts, the documents' paths/sizes/sync states in document-view.ts, the
// peer bookkeeping (sources, held and known peers, lost peers' rows) in peer-book.ts. Over ~400 lines:
// ten resources (lock, endpoint, adapter, bulk, link reports, actor claims, discovery, Repo, presence,
// control socket) start in order and release in reverse, and the peer commands (dial, disconnect,
// offline/online) act on several of them at once.
import { EventEmitter } from 'node:events'
import { stat } from 'node:fs/promises'
import type { Server } from 'node:net'
import { hostname, userInfo } from 'node:os'
import { type DocHandle, type DocumentId, type NetworkAdapterInterface, type Repo } from '@automerge/automerge-repo/slim'
import { loadBundle, packDirectory, requirePublisher, type LoadedBundle } from '../bundle'
import { appCapability, deriveKey, type AppCapability } from '../bundle/capability'
import { bootstrapHints, describeHint, type ApproveBundleHints, type BundleHint } from '../bundle/hints'
import { closeControlServer, startControlServer } from '../host/control'
import { prepareControlSocketPath } from '../host/control-path'
import { RECONNECT_GRACE_MS } from './recent-peers'
import { PeerBook } from './peer-book'
import { DocumentView } from './document-view'
import type { ActorName, DocSyncState, PeerPresence, PeerSnapshot, PeerSource, SessionEvents, SessionOptions, SessionSnapshot, SessionState } from './types'
import { dataDirFiles, DataDirError, lockDataDir, readDataDirInfo, writeDataDirInfo } from '../host/data-dir'
import { docHandlers } from '../host/doc-commands'
import { presenceHandlers } from '../host/presence-commands'
import { linkHandlers } from '../host/link-commands'
import type { LinkFault } from '../net/link-fault'
import { startPresence, type RunningPresence } from '../../shared/presence'
import { BULK_EMPTY_FEATURE, BULK_FEATURE, BULK_MIN_FRAME_LIMIT, BulkSync, type BulkCounters } from '../protocols/bulk/bulk'
import { PEX, PRESENCE_DIGEST } from '../protocols/registry'
import { LINKS_FEATURE, LinkReports } from '../protocols/links/reports'
import { ACTORS_FEATURE, ActorClaims } from '../protocols/actors/actor-claims'
import { OwnActors } from '../history/own-actors'
import type { DirectoryDoc } from '../../shared/vfs/shapes'
import { DocTree } from '../../shared/vfs/doc-tree'
import { createBundleRepo, type BundleRepo } from '../store/repo'
import { legacyRootDocumentId } from '../vfs/root-document'
import { noopLogger, type Logger } from '../../shared/log'
import { createDiscovery, type DiscoveryRuntime } from '../discovery'
import { closeEndpoint, createEndpoint, endpointTicket, loadOrCreateSecretKey } from '../net/endpoint'
import { firstLine, HEX64 } from '../util/text'
import { isTonkBundle, loadTonkAsBundle, type TonkBundle } from '../tonk/as-bundle'
import { isTonkFileName } from '../tonk'
import { keepTonkManifest, keptTonkManifest } from '../host/tonk-manifest'
import { DEFAULT_EXPORT_MANIFEST, exportVfsTonk } from '../tonk/export-vfs'
import { DEFAULT_MAX_FRAME_BYTES } from '../net/framing'
import { PeerIdClaims } from '../net/peer-claims'
import { loadIroh, type IrohEndpoint } from '../net/iroh'
import { IrohNetworkAdapter, type PeerInfo, type TraceEvent } from '../net/iroh-adapter'

export type {
  ActorName,
  DocChangedEvent,
  DocSyncState,
  DocumentSnapshot,
  PeerPresence,
  PeerSnapshot,
  PeerSource,
  SessionEvents,
  SessionOptions,
  SessionSnapshot,
  SessionState,
} from './types'

const CHANGE_BATCH_MS = 100

export class Session extends EventEmitter<SessionEvents> {
  state: SessionState = 'idle'
  readonly log: Logger
  private endpoint?: IrohEndpoint
  private adapter?: IrohNetworkAdapter
  /** Which adapter holds which automerge peer id (peer-claims.ts). */
  private claims?: PeerIdClaims
  private controlPath?: string
  /** Sources, held and known peers, lost peers' rows, refusals (peer-book.ts). */
  private readonly book: PeerBook
  private graceTimer: NodeJS.Timeout | undefined
  private bundleRepo?: BundleRepo
  private tree?: DocTree
  /** This session in the app's presence (src/shared/presence.ts); undefined until the Repo runs. */
  presence?: RunningPresence
  private control?: Server
  private unlock?: () => Promise<void>
  private readonly traceRing: TraceEvent[] = []
  /** Paths, sizes and per-peer sync state of the documents (document-view.ts); set once the Repo runs. */
  private view?: DocumentView
  private changeTimer?: NodeJS.Timeout
  private discovery?: DiscoveryRuntime
  private networkTransition: Promise<void> = Promise.resolve()
  private bulk?: BulkSync
  /** What each connected peer says it is linked to (protocols/links): the mesh beyond our links. */
  private links?: LinkReports
  private ownActors?: OwnActors
  private actorClaims?: ActorClaims

  /** What makes this bundle a capability (its appKey, else its bundleId); see bundle/capability.ts. */
  readonly capability: AppCapability
  private currentBundle: LoadedBundle

  /** The build this session serves (replaced by reloadBundle). */
  get bundle(): LoadedBundle {
    return this.currentBundle
  }

  /**
   * Serves another build of the same app without stopping (hot reload): documents, identity and
   * connections stay; peers that connect from now on are told the new bundleId. Another app (appKey
   * or namespace changed) cannot be swapped in: E_RELOAD_OTHER_APP, restart the session instead.
   */
  async reloadBundle(next: LoadedBundle): Promise<void> {
    const before = this.currentBundle.manifest.sync
    const after = next.manifest.sync
    if (appCapability(after).appId !== this.capability.appId || after.namespace !== before.namespace) {
      throw Object.assign(new Error(`${next.manifest.name}: the app's identity changed (sync.appKey or sync.namespace): restart the session to serve it`), {
        code: 'E_RELOAD_OTHER_APP',
      })
    }
    if (next.bundleId === this.currentBundle.bundleId) return
    this.currentBundle = next
    this.adapter?.setBuild(next.bundleId, after.strictBuild === true)
    const info = await readDataDirInfo(this.options.dataDir)
    if (info && this.state === 'running') {
      await writeDataDirInfo(this.options.dataDir, { ...info, bundleId: next.bundleId, version: next.manifest.version })
    }
    this.log.info(`session: now serving build ${next.bundleId.slice(0, 12)} of ${next.manifest.name}@${next.manifest.version}`)
    this.scheduleChanged()
  }

  private constructor(
    bundle: LoadedBundle,
    readonly options: SessionOptions,
  ) {
    super()
    this.currentBundle = bundle
    this.log = options.logger ?? noopLogger
    this.capability = appCapability(bundle.manifest.sync)
    this.book = new PeerBook(dataDirFiles(options.dataDir).knownPeers, this.log)
    if (this.capability.source === 'bundleId') {
      this.log.warn(`session: ${bundle.manifest.name} has no sync.appKey: only peers of this exact build (bundle ${bundle.bundleId.slice(0, 8)}…) can sync with it`)
    }
  }

  /** Verifies the bundle (a packed .zip, or a folder packed in memory) and prepares a session. */
  static async open(source: string | LoadedBundle, options: SessionOptions): Promise<Session> {
    return new Session(await loadSessionBundle(source, options), options)
  }

  get peerName(): string {
    if (this.options.peerName) return this.options.peerName
    let user = 'peer'
    try {
      user = userInfo().username
    } catch {}
    return `${user}@${hostname()}`
  }

  get repo(): Repo {
    if (!this.bundleRepo) throw new Error('session not started')
    return this.bundleRepo.repo
  }

  /**
   * Adds a network adapter to the Repo (the preview page's): it may announce only automerge peer
   * ids nobody else holds. Returns the function that takes it out again.
   */
  attachAdapter(adapter: NetworkAdapterInterface, name: string): () => void {
    const repo = this.repo
    const guarded = this.claims!.guard(adapter, `${name} ${++this.attachedAdapters}`)
    repo.networkSubsystem.addNetworkAdapter(guarded)
    return () => repo.networkSubsystem.removeNetworkAdapter(guarded)
  }
  private attachedAdapters = 0

  get docs(): DocTree {
    if (!this.tree) throw new Error('session not started')
    return this.tree
  }

  /** Set when the session serves a .tonk: its root id and entrypoints (as the file names them). */
  get tonk(): { rootId: string; entrypoints: string[] } | undefined {
    return isTonkBundle(this.bundle) ? { rootId: this.bundle.tonk.rootId, entrypoints: [...this.bundle.tonk.manifest.entrypoints] } : undefined
  }

  /**
   * The whole VFS as a .tonk (what `tonk-p2p export` writes): deterministic for equal state; a session
   * that serves a .tonk keeps its rootId, entrypoints, networkUris and xVendor.
   */
  async exportTonk(): Promise<{ bytes: Uint8Array; documents: number; rootId: string }> {
    if (!this.tree || !this.bundleRepo) throw new Error('session not started')
    return exportVfsTonk(this.tree, this.bundleRepo.repo, (await keptTonkManifest(this.options.dataDir)) ?? DEFAULT_EXPORT_MANIFEST)
  }

  /** First start of a data dir on a .tonk: every document of the file goes into storage, and its manifest beside it. */
  private async importTonk(bundle: TonkBundle, dataDir: string): Promise<void> {
    const repo = this.bundleRepo!.repo
    for (const [id, bytes] of bundle.tonk.documents) repo.import(bytes, { docId: id as DocumentId })
    await repo.flush()
    await keepTonkManifest(dataDir, bundle.tonk.manifest)
    this.log.info(`session: imported ${bundle.tonk.documents.size + 1} documents of the .tonk (root ${bundle.tonk.rootId})`)
  }

  get root(): DocHandle<DirectoryDoc> {
    if (!this.bundleRepo) throw new Error('session not started')
    return this.bundleRepo.root
  }

  get endpointId(): string | undefined {
    return this.adapter?.endpointId
  }

  get ticket(): string | undefined {
    return this.endpoint ? endpointTicket(this.endpoint) : undefined
  }

  /** Discovery sources running (mdns, exchange, dht), for status lines. */
  get discoverySources(): string[] {
    return [...(this.discovery?.sourceNames ?? []), ...(this.options.bridge ? ['bridge'] : [])]
  }

  /** A fault on one peer's link, both directions, for debugging (undefined clears); not persisted. */
  setLinkFault(endpointId: string, fault: LinkFault | undefined): void {
    this.adapter?.setLinkFault(endpointId, fault)
    this.links?.ping(endpointId) // the round trip sync sees changes now: measure it
  }

  get online(): boolean {
    return this.adapter?.isOnline ?? false
  }

  async start(): Promise<void> {
    if (this.state !== 'idle' && this.state !== 'stopped') throw new Error(`cannot start a session that is ${this.state}`)
    loadIroh() // without iroh's native module there is nothing to start: say so before locking anything
    this.setState('starting')
    const { dataDir } = this.options
    const m = this.bundle.manifest
    try {
      this.unlock = await lockDataDir(dataDir, this.log)
      const previous = await readDataDirInfo(dataDir)
      if (previous && previous.namespace !== m.sync.namespace) {
        throw new DataDirError(
          'E_DATA_DIR_OTHER_BUNDLE',
          `data dir ${dataDir} holds namespace "${previous.namespace}" (bundle ${previous.name}), not "${m.sync.namespace}": use another data dir`,
        )
      }
      this.endpoint = await this.bindEndpoint(previous?.port)
      const bulk = this.options.bulk !== false && (this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES) >= BULK_MIN_FRAME_LIMIT
      const features = [...(this.options.discovery?.exchange === false ? [] : [PEX.feature]), ...(bulk ? [BULK_FEATURE] : []), LINKS_FEATURE, ACTORS_FEATURE, PRESENCE_DIGEST.feature]
      // A new data dir holds nothing but the bundle's root: peers may push everything at once.
      const empty = bulk && !previous
      this.adapter = new IrohNetworkAdapter({
        endpoint: this.endpoint,
        handshakeKey: deriveKey(this.capability.secret, 'handshake'),
        hello: {
          bundleId: this.bundle.bundleId,
          namespace: m.sync.namespace,
          protocolVersion: m.sync.protocolVersion,
          minCompatibleVersion: m.sync.minCompatibleVersion,
          peerName: this.peerName,
          features: empty ? [...features, BULK_EMPTY_FEATURE] : features,
          ...(m.sync.strictBuild && { strictBuild: true }),
        },
        logger: this.log,
        maxFrameBytes: this.options.maxFrameBytes,
        allowPeer: allowlist(m.sync.allowedPeers, this.options.allowedPeers, this.endpoint, this.log),
        peerIdTaken: (peerId) => {
          const owner = this.claims?.ownerOf(peerId)
          return owner !== undefined && owner !== 'iroh'
        },
      })
      this.claims = new PeerIdClaims(this.log)
      this.wireAdapter(this.adapter)
      if (bulk) {
        // Started before the Repo exists, so its adapter listeners run before the Repo's (bulk.ts).
        const adapter = this.adapter
        this.bulk = new BulkSync(adapter.channel, { logger: this.log, onFirstDocs: empty ? () => adapter.setFeatures(features) : undefined })
        this.bulk.start()
      }
      this.links = new LinkReports(this.adapter.channel, this.adapter.endpointId, () => this.scheduleChanged())
      this.links.start()
      this.ownActors = new OwnActors(dataDirFiles(dataDir).actors)
      await this.ownActors.load()
      this.actorClaims = new ActorClaims(this.adapter.channel, this.ownActors)
      this.actorClaims.start()
      // Start the transport while storage loads: connections are set up and parked, and their
      // handshakes run the moment the Repo connects (a Repo that asks for a document before any peer
      // is connected reports it unavailable at once).
      this.adapter.listen()
      const hints = bootstrapHints(m.sync.discovery.bootstrapPeers)
      if (!this.options.approveBundleHints) this.dialHints(hints)
      for (const ticket of this.options.connect ?? []) this.dial(ticket, 'ticket', true)
      for (const ticket of await this.book.loadKnown()) this.dial(ticket, 'known', false)
      this.discovery = createDiscovery(this.discoveryDeps(this.adapter, this.endpoint))
      await this.discovery.start()
      this.bundleRepo = await createBundleRepo({
        dataDir,
        network: [
          this.claims.guard(this.adapter, 'iroh'),
          ...this.discovery.extraAdapters.map((a, i) => this.claims!.guard(a, i === 0 ? 'bridge' : `adapter ${i + 1}`)),
        ],
        rootDocumentId: m.sync.rootDocument.documentId as DocumentId,
        rootDocumentBytes: this.bundle.rootDocumentBytes,
        // A .tonk's root is its own document: there is no older layout to migrate from.
        legacyRootDocumentId: isTonkBundle(this.bundle) ? undefined : legacyRootDocumentId(m.sync.namespace),
        logger: this.log,
        // A document the bulk sync received but has not applied yet is one we hold.
        requestGate: { pending: (id) => this.bulk?.holds(id) ?? false },
      })
      if (isTonkBundle(this.bundle) && !previous) await this.importTonk(this.bundle, dataDir)
      this.tree = new DocTree(this.bundleRepo.repo, this.bundleRepo.root, { logger: this.log })
      this.view = new DocumentView(this.bundleRepo.repo, this.tree, m.sync.rootDocument.documentId, this.log, {
        docChanged: (e) => this.emit('doc-changed', e),
        changed: () => this.scheduleChanged(),
        ownActor: (actor) => this.ownActors?.record(actor),
      })
      this.bulk?.attach(this.bundleRepo.repo, this.bundleRepo.storage)
      if (this.options.presence !== false) this.presence = startPresence(this.bundleRepo.root, { peerId: this.endpointId ?? '', name: this.peerName, kind: 'session' }, (peers) => this.emit('presence', peers))

      if (this.options.control !== false) {
        this.controlPath = await prepareControlSocketPath(dataDir)
        this.control = await startControlServer(this.controlPath, {
          ...docHandlers(this.tree, this.bundleRepo.repo, () => keptTonkManifest(dataDir), (actors) => this.actorNames(actors)),
          ...presenceHandlers(() => this.presence),
          ...linkHandlers(() => this.adapter?.peerInfos() ?? [], (id, fault) => this.setLinkFault(id, fault)),
          ticket: async () => ({ ticket: this.ticket, endpointId: this.endpointId }),
          status: async () => this.snapshot(),
          offline: async () => {
            await this.goOffline()
            return { online: this.online }
          },
          online: async () => {
            await this.goOnline()
            return { online: this.online }
          },
        }, (method, err) => this.log.error(`session: control ${method} failed: ${err.stack ?? err.message}`))
      }
      await writeDataDirInfo(dataDir, {
        bundleId: this.bundle.bundleId,
        name: m.name,
        version: m.version,
        namespace: m.sync.namespace,
        rootDocumentId: m.sync.rootDocument.documentId,
        endpointId: this.adapter.endpointId,
        ticket: this.ticket!,
        port: this.boundPort(),
        ...(this.control && { control: this.controlPath }),
        peerName: this.peerName,
        pid: process.pid,
        startedAt: new Date().toISOString(),
      })
      this.log.info(`session: ${m.name}@${m.version} running as ${this.adapter.endpointId} in ${dataDir}`)
      this.setState('running')
      if (this.options.approveBundleHints && hints.length) void this.approveHints(hints, this.options.approveBundleHints)
    } catch (err) {
      this.log.error(`session: start failed: ${firstLine(err)}`)
      await this.release()
      this.setState('failed')
      throw err
    }
  }

  /**
   * Dials a peer by ticket and keeps it connected (redialed with back-off). `strict` rethrows a bad
   * ticket (user input); bootstrap entries from the manifest only log.
   */
  dial(ticket: string, source: PeerSource = 'ticket', strict = true): string | undefined {
    if (!this.adapter) throw new Error('session not started')
    try {
      const id = this.adapter.dial(ticket.trim())
      this.book.dialed(id, source) // dialing a peer by hand undoes a Disconnect
      this.discovery?.unsuppress(id)
      this.scheduleChanged()
      return id
    } catch (err) {
      if (strict) throw err
      this.log.warn(`session: cannot dial ${source} peer: ${firstLine(err)}`)
      return undefined
    }
  }

  private dialHints(hints: readonly BundleHint[]): void {
    for (const hint of hints) {
      this.log.info(`session: dialing bootstrap peer ${describeHint(hint)} (sync.discovery.bootstrapPeers of the bundle)`)
      this.dial(hint.value, 'bootstrap', false)
    }
  }

  /** Asks the front which hints to use (it may wait for a person), then dials them if still running. */
  private async approveHints(hints: BundleHint[], approve: ApproveBundleHints): Promise<void> {
    const adapter = this.adapter
    let approved: readonly BundleHint[] = []
    try {
      approved = await approve(hints)
    } catch (err) {
      this.log.warn(`session: approving the bundle's bootstrap peers failed: ${firstLine(err)}`)
    }
    const values = new Set(approved.map((h) => h.value))
    for (const hint of hints) if (!values.has(hint.value)) this.log.info(`session: bootstrap peer ${describeHint(hint)} not approved: not dialed`)
    if (this.state !== 'running' || this.adapter !== adapter) return
    this.dialHints(hints.filter((h) => values.has(h.value)))
  }

  /** Closes the connection and keeps the peer out (its redials refused) until reconnectPeer(). */
  disconnectPeer(endpointId: string): void {
    this.discovery?.suppress(endpointId)
    this.book.hold(endpointId)
    this.adapter?.disconnectPeer(endpointId, { hold: true })
    this.scheduleChanged()
  }

  /**
   * Undoes disconnectPeer: dials the peer where it was last seen (or a known ticket); discovery may
   * find it again too. Returns false when there is no address to dial (it can still dial us).
   */
  reconnectPeer(endpointId: string): boolean {
    if (!this.adapter) throw new Error('session not started')
    const { ticket, source } = this.book.release(endpointId)
    this.discovery?.unsuppress(endpointId)
    this.adapter.allowAgain(endpointId)
    this.scheduleChanged()
    if (ticket === undefined) return false
    this.dial(ticket, source, false)
    return true
  }

  /**
   * Offline means silent: every iroh connection closed, no dial and no incoming connection accepted,
   * every discovery source stopped (mDNS says goodbye and closes its socket, the DHT node closes,
   * peer exchange stops) and the bridge to a sync server disconnected. Documents stay readable and
   * writable; changes wait for goOnline(), which resumes all of it. Transitions run one at a time.
   */
  goOffline(): Promise<void> {
    return this.transition(async () => {
      this.adapter?.goOffline()
      await this.discovery?.pause()
    })
  }

  goOnline(): Promise<void> {
    return this.transition(async () => {
      this.book.wentOnline()
      this.adapter?.goOnline()
      await this.discovery?.resume()
      this.refreshAfterGrace()
    })
  }

  /** Reconnecting rows end after a grace period: make sure a view hears about it. */
  private refreshAfterGrace(): void {
    clearTimeout(this.graceTimer)
    this.graceTimer = setTimeout(() => this.scheduleChanged(), RECONNECT_GRACE_MS + 100)
    this.graceTimer.unref?.()
  }

  private transition(step: () => Promise<void>): Promise<void> {
    const run = this.networkTransition.then(step).finally(() => this.scheduleChanged())
    this.networkTransition = run.catch((err) => this.log.warn(`session: going online/offline failed: ${firstLine(err)}`))
    return run
  }

  /** The last sync messages, oldest first. */
  trace(): TraceEvent[] {
    return [...this.traceRing]
  }

  /** Peers, documents and state for a UI. Documents come from the bundle's directory tree. */
  async snapshot(): Promise<SessionSnapshot> {
    const m = this.bundle.manifest
    const documents = this.view && this.state === 'running' ? await this.view.documents() : []
    return {
      state: this.state,
      bundle: { name: m.name, version: m.version, bundleId: this.bundle.bundleId, namespace: m.sync.namespace },
      endpointId: this.endpointId,
      ticket: this.ticket,
      peerName: this.peerName,
      online: this.online,
      dataDir: this.options.dataDir,
      peers: this.peers(),
      refused: this.book.refusedList,
      documents,
      ...(this.bulk ? { bulk: { ...this.bulk.counters } } : {}),
    }
  }

  /** The peer rows of snapshot() alone (no document walk): RTT and bytes move without session events. */
  peers(): PeerSnapshot[] {
    const presence = this.presenceByEndpoint()
    return this.peerRows().map((p) => ({
      ...p,
      source: this.book.sourceOf(p.endpointId),
      docs: this.view?.peerDocStates(p) ?? {},
      ...this.linkFacts(p.endpointId),
      ...(presence.has(p.endpointId) ? { presence: presence.get(p.endpointId) } : {}),
    }))
  }

  // -- keyed queries: one peer, one document, without building a snapshot -------------------------

  /** Peer rows without per-document states (no walk, no document × peer loop). */
  peerList(): Array<PeerInfo & Pick<PeerSnapshot, 'source' | 'links' | 'syncRttMs'>> {
    return this.peerRows().map((p) => {
      return { ...p, source: this.book.sourceOf(p.endpointId), ...this.linkFacts(p.endpointId) }
    })
  }

  /**
   * Who wrote with these Automerge actors (a document's history lists them): `you` for this peer's
   * own, else the peer that says the actor is its own (asked of connected peers, ≤ 1.5 s), by name.
   */
  async actorNames(actors: readonly string[]): Promise<Record<string, ActorName>> {
    const who = (await this.actorClaims?.who(actors)) ?? new Map<string, string>()
    const names = new Map(this.peerRows().map((p) => [p.endpointId, p.name]))
    const out: Record<string, ActorName> = {}
    for (const [actor, by] of who) out[actor] = by === 'you' ? { you: true, name: 'you' } : { endpointId: by, name: names.get(by) ?? by.slice(0, 10) }
    return out
  }

  /** An actor this peer writes with outside its own Repo (the preview page's, whose changes sync in here). */
  recordOwnActor(actor: string): void {
    this.ownActors?.record(actor)
  }

  /** What the links protocol knows of a peer: its reported links and the sync round trip to it. */
  private linkFacts(endpointId: string): Pick<PeerSnapshot, 'links' | 'syncRttMs'> {
    const report = this.links?.reportOf(endpointId)
    const syncRttMs = this.links?.syncRttOf(endpointId)
    return { ...(report && { links: report.links }), ...(syncRttMs !== undefined && { syncRttMs }) }
  }

  /** Whether a connected peer has our heads of one document ('unknown' if not loaded or not connected). */
  syncOf(documentId: string, peer: PeerInfo): DocSyncState {
    return this.view?.syncOf(documentId, peer) ?? 'unknown'
  }

  /** A document's path in the tree, from the path index (walked again only when the tree changed). */
  async pathOf(url: string): Promise<string | undefined> {
    return this.view && this.state === 'running' ? this.view.pathOf(url) : undefined
  }

  /** Presence participants grouped by the endpoint id they claim (at most 16 per peer shown). */
  private presenceByEndpoint(): Map<string, PeerPresence[]> {
    const out = new Map<string, PeerPresence[]>()
    for (const p of this.presence?.peers() ?? []) {
      if (!p.peerId) continue
      const list = out.get(p.peerId) ?? []
      if (list.length < 16) list.push({ kind: p.kind === 'session' ? 'session' : 'page', state: p.state, lastActiveAt: p.lastActiveAt })
      out.set(p.peerId, list)
    }
    return out
  }

  private peerRows(): PeerInfo[] {
    return this.book.rows(this.adapter?.peerInfos() ?? [], this.online, this.discovery?.bridgePeers() ?? [])
  }

  /** Online, and how many peers are connected: cheap (no document walk), for status lines. */
  networkSummary(): { online: boolean; peers: number } {
    return { online: this.online, peers: (this.adapter?.peerInfos() ?? []).filter((p) => p.state === 'connected').length }
  }

  /** Bulk catch-up counters of this run, undefined when bulk is off. */
  get bulkCounters(): BulkCounters | undefined {
    return this.bulk ? { ...this.bulk.counters } : undefined
  }

  /** Best effort, never throws: closes the control socket, connections, repo (flushing), endpoint, lock. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return
    this.setState('stopping')
    await this.release()
    this.setState('stopped')
  }

  private async release(): Promise<void> {
    const attempt = async (what: string, fn: () => Promise<void> | void) => {
      try {
        await fn()
      } catch (err) {
        this.log.warn(`session: stopping ${what} failed: ${firstLine(err)}`)
      }
    }
    this.bulk?.stop()
    this.links?.stop()
    this.actorClaims?.stop()
    await attempt('actors', () => this.ownActors?.flush())
    await attempt('presence', () => this.presence?.stop())
    this.presence = undefined
    await attempt('discovery', () => this.discovery?.stop())
    this.discovery = undefined
    await attempt('control socket', () => closeControlServer(this.control, this.controlPath!))
    this.control = undefined
    await attempt('network', () => this.adapter?.goOffline())
    await attempt('repo', () => this.bundleRepo?.close())
    await attempt('endpoint', () => (this.endpoint ? closeEndpoint(this.endpoint, this.log) : undefined))
    await attempt('known peers', () => this.book.flushed())
    await attempt('data dir lock', () => this.unlock?.())
    this.unlock = undefined
    if (this.changeTimer) clearTimeout(this.changeTimer)
    this.changeTimer = undefined
  }

  /**
   * Binds the endpoint. With an ephemeral port requested, the port of the last run is tried first, so
   * tickets handed out earlier (and peers redialing them) keep working across restarts.
   */
  private async bindEndpoint(previousPort: number | undefined): Promise<IrohEndpoint> {
    const requested = this.options.bindAddr ?? '0.0.0.0:0'
    const create = (bindAddr: string) =>
      createEndpoint({ dataDir: this.options.dataDir, bindAddr, relays: this.options.relays, logger: this.log })
    const host = requested.slice(0, requested.lastIndexOf(':'))
    if (previousPort && requested.endsWith(':0')) {
      try {
        return await create(`${host}:${previousPort}`)
      } catch (err) {
        this.log.info(`session: port ${previousPort} of the last run is taken (${firstLine(err)}); binding a new one`)
      }
    }
    return create(requested)
  }

  private boundPort(): number | undefined {
    const first = this.endpoint?.boundSockets()[0]
    const port = first ? Number(first.slice(first.lastIndexOf(':') + 1)) : NaN
    return Number.isInteger(port) && port > 0 ? port : undefined
  }

  /** What discovery needs from the session: who we are, and how to dial and label peers. */
  private discoveryDeps(adapter: IrohNetworkAdapter, endpoint: IrohEndpoint) {
    const m = this.bundle.manifest
    return {
      options: this.options.discovery ?? {},
      bridge: this.options.bridge,
      adapter,
      bindAddr: this.options.bindAddr ?? '0.0.0.0:0',
      context: {
        endpointId: adapter.endpointId,
        mdnsKey: deriveKey(this.capability.secret, 'mdnsTag'),
        dhtKey: m.sync.discovery.dhtKey ?? deriveKey(this.capability.secret, 'dhtTopic').toString('hex'),
        mdnsService: m.sync.discovery.mdnsService,
        protocolVersion: m.sync.protocolVersion,
        addresses: () => (endpoint.isClosed() ? [] : endpoint.addr().directAddresses()),
        ticket: () => endpointTicket(endpoint),
        secretKey: () => loadOrCreateSecretKey(this.options.dataDir),
        logger: this.log,
      },
      label: (endpointId: string, source: PeerSource) => {
        this.book.found(endpointId, source)
        this.scheduleChanged()
      },
    }
  }

  private wireAdapter(adapter: IrohNetworkAdapter): void {
    // A peer the adapter no longer lists (not connected, not dialed) loses its discovery label.
    const forgetIfGone = (endpointId: string) => this.book.forgetIfGone(endpointId, adapter.connectionStatus(endpointId) !== 'unknown')
    adapter.events.on('peer-connected', (p) => {
      this.log.info(`session: peer ${p.endpointId.slice(0, 10)} (${p.name ?? '?'}) connected`)
      this.book.connected(p)
      this.scheduleChanged()
    })
    adapter.events.on('peer-closed', (e) => {
      this.log.info(`session: peer ${e.endpointId.slice(0, 10)} closed: ${e.reason}`)
      this.book.lost(e.endpointId)
      this.refreshAfterGrace()
      forgetIfGone(e.endpointId)
      this.scheduleChanged()
    })
    adapter.events.on('dial-dropped', (e) => {
      this.log.info(`session: no longer dialing ${e.endpointId.slice(0, 10)}: ${e.reason}`)
      forgetIfGone(e.endpointId)
      this.scheduleChanged()
    })
    adapter.events.on('peer-refused', (e) => {
      this.log.warn(`session: ${e.by === 'local' ? 'refused' : 'refused by'} ${e.endpointId.slice(0, 10)}: ${e.reason}`)
      this.book.refused(e)
      this.emit('peer-refused', e)
      this.scheduleChanged()
    })
    adapter.events.on('state-changed', () => this.scheduleChanged())
    adapter.events.on('trace', (t) => {
      this.traceRing.push(t)
      if (this.traceRing.length > (this.options.traceLimit ?? 2000)) this.traceRing.shift()
      this.emit('trace', t)
    })
  }

  private setState(state: SessionState): void {
    this.state = state
    this.emit('state', state)
    this.scheduleChanged()
  }

  private scheduleChanged(): void {
    if (this.changeTimer || this.state === 'stopped') return
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined
      this.emit('changed')
    }, CHANGE_BATCH_MS)
  }
}

/** The handshake gate of a private session, or undefined when every peer of the bundle may connect. */
function allowlist(
  fromManifest: readonly string[] | undefined,
  fromOptions: readonly string[] | undefined,
  endpoint: IrohEndpoint,
  log: Logger,
): ((endpointId: string) => boolean) | undefined {
  if (fromManifest === undefined && fromOptions === undefined) return undefined
  const allowed = new Set([...(fromManifest ?? []), ...(fromOptions ?? [])].map((id) => id.trim().toLowerCase()))
  const self = endpoint.id().toString()
  if (fromManifest !== undefined && !fromManifest.includes(self)) {
    log.warn(`session: this peer (${self}) is not in the bundle's allowedPeers: peers that enforce the list will refuse it`)
  }
  return (endpointId) => allowed.has(endpointId)
}

/**
 * The bundle a session of `source` serves (a packed .zip, a folder packed in memory, a .tonk), checked
 * against the options a session is opened with (its publisher, the allowed peers' ids). Session.open and
 * RemoteSession.open (which loads on the host and hands the result to its worker) share it.
 */
export async function loadSessionBundle(source: string | LoadedBundle, options: Pick<SessionOptions, 'requirePublisher' | 'allowedPeers'>): Promise<LoadedBundle> {
  let bundle: LoadedBundle
  if (typeof source !== 'string') bundle = source
  else if ((await stat(source)).isDirectory()) bundle = await loadBundle((await packDirectory(source)).zip)
  else if (isTonkFileName(source)) bundle = await loadTonkAsBundle(source)
  else bundle = await loadBundle(source)
  if (options.requirePublisher !== undefined) requirePublisher(bundle, options.requirePublisher)
  const badId = options.allowedPeers?.find((id) => !HEX64.test(id.trim().toLowerCase()))
  if (badId !== undefined) {
    throw Object.assign(new Error(`allowed peer "${badId.slice(0, 80)}" is not an endpoint id (64 hex characters)`), { code: 'E_BAD_PEER_ID' })
  }
  return bundle
}
