// activate() stays thin: build the context, the views and the command table, report failures visibly.
// Nothing here loads the engine (out/engine.cjs: Automerge, iroh, the bundle code); the first command or
// scan that needs it does (engine-loader.ts). The activation time is logged and returned to tests.
import * as vscode from 'vscode'
import { packBundle, validateManifest } from './commands/manifest'
import { handleJoinUri, joinCommands } from './commands/join'
import { newBundle } from './commands/new-bundle'
import { sessionCommands } from './commands/session'
import { Ctx } from './ctx'
import { engineLoadMs } from './engine-loader'
import { HotReload } from './hot-reload'
import { LocalPeers } from './local-peers'
import { createLogger } from './log'
import { ManifestCodeActions, recomputeManifest, RECOMPUTE_COMMAND } from './manifest/code-actions'
import { ManifestDiagnostics } from './manifest/diagnostics'
import { updateP2pContext } from './p2p-availability'
import { chooseSession } from './session-choice'
import { SessionManager } from './session-manager'
import { TraceDocuments } from './trace'
import { DocumentsModel } from './views/documents-model'
import { PeersModel } from './views/peers-model'
import { SessionStatusBar } from './views/status-bar'
import { ModelTreeProvider } from './views/tree'
import { registerWebviews } from './webviews'

/** Set by the bundle's first line (esbuild.mjs banner); absent when the code runs unbundled. */
declare const __tonk_load_started: number | undefined

/** What activate() returns (`vscode.extensions.getExtension('tonk.tonk-p2p').exports`), for tests and tools. */
export interface TonkApi {
  /** ms spent in activate(). */
  activationMs: number
  /** ms evaluating out/extension.cjs (its first line to the end of this module's top level). */
  loadMs: number
  /** ms spent loading out/engine.cjs so far (0 until something needed it). */
  engineLoadMs(): number
  ctx: Ctx
  sessions: SessionManager
  peersModel: PeersModel
  documentsModel: DocumentsModel
  localPeers: LocalPeers
  diagnostics: ManifestDiagnostics
  status: SessionStatusBar
  trace: TraceDocuments
  hotReload: HotReload
}

/** This line runs after every other module of the bundle: the bundle's evaluation time ends here. */
const bundleEvaluatedAt = performance.now()

let ctx: Ctx | undefined
let api: TonkApi | undefined

/** How long the last activate() took, in ms. */
export let activationMs = 0

export function activate(context: vscode.ExtensionContext): TonkApi {
  const started = performance.now()
  const log = createLogger()
  try {
    const c = (ctx = new Ctx(context, log))
    context.subscriptions.push(c, log.channel)

    const sessions = c.own(new SessionManager(c))
    c.sessions = sessions
    const localPeers = c.own(new LocalPeers(vscode.Uri.joinPath(context.extensionUri, 'out', 'cli.cjs').fsPath, log))
    const status = c.own(new SessionStatusBar())
    const trace = c.own(new TraceDocuments(sessions))
    const peersModel = new PeersModel()
    const documentsModel = new DocumentsModel()
    const diagnostics = c.own(new ManifestDiagnostics(c))

    const peersTree = c.own(new ModelTreeProvider(peersModel, (rows) => log.debug(`peers view: redraw ${rows === 'all' ? 'all' : rows.join(', ')}`)))
    const peersTreeView = c.own(vscode.window.createTreeView('tonk.peers', { treeDataProvider: peersTree }))
    c.own(peersTree.watch(peersTreeView, 'tonk.peers'))
    const documentsTree = c.own(new ModelTreeProvider(documentsModel, (rows) => log.debug(`documents view: redraw ${rows === 'all' ? 'all' : rows.join(', ')}`)))
    const documentsTreeView = c.own(vscode.window.createTreeView('tonk.documents', { treeDataProvider: documentsTree }))
    c.own(documentsTree.watch(documentsTreeView, 'tonk.documents'))
    // Every session's snapshot feeds the views (grouped by bundle when several run) and the status bar.
    const showSnapshots = () => {
      const groups = sessions.list().flatMap((r) => (r.snapshot ? [{ sessionId: r.id, snapshot: r.snapshot }] : []))
      const active = sessions.current && sessions.of(sessions.current)?.id
      peersModel.updateAll(groups, active)
      documentsModel.updateAll(groups, active)
      status.update(groups.map((g) => g.snapshot))
    }
    c.own(sessions.onDidSnapshot(showSnapshots))
    c.own(sessions.onDidChange(showSnapshots))
    // Local peers belong to their session: they stop with it (and with the extension), before it. A
    // restart (Start P2P Session on a running one) brings the same number back on the new build.
    const localPeersBeforeStop = new Map<string, number>()
    c.own(
      sessions.beforeStop(async (session) => {
        const dataDir = session.options.dataDir
        localPeersBeforeStop.set(dataDir, localPeers.runningCountOf(dataDir))
        await localPeers.stop(dataDir)
      }),
    )
    c.own(
      sessions.onDidStart((session) => {
        const count = localPeersBeforeStop.get(session.options.dataDir) ?? 0
        localPeersBeforeStop.delete(session.options.dataDir)
        if (!sessions.isRestart || count === 0) return
        void vscode.commands.executeCommand('tonk.startLocalPeers', count, { sessionId: sessions.of(session)?.id })
      }),
    )
    c.own(localPeers.onDidChange(() => void vscode.commands.executeCommand('setContext', 'tonk.localPeersRunning', localPeers.runningCount > 0)))
    void vscode.commands.executeCommand('setContext', 'tonk.localPeersRunning', false)
    const hotReload = c.own(new HotReload(c, sessions, localPeers))
    c.own(sessions.onDidStart((session) => hotReload.watch(session)))

    c.own(vscode.languages.registerCodeActionsProvider({ pattern: '**/tonk.json' }, new ManifestCodeActions(), {
      providedCodeActionKinds: ManifestCodeActions.kinds,
    }))

    const commands: Record<string, (...args: any[]) => unknown> = {
      ...sessionCommands({ ctx: c, sessions, localPeers, trace, status }),
      ...joinCommands(c, sessions),
      'tonk.reloadBundle': (target?: unknown) => hotReload.reload(target),
      // A bundle's row (several sessions) or the palette: that session becomes the active one.
      'tonk.selectSession': (target?: unknown) => selectSession(sessions, target),
      // The Mesh view's click/Enter on a peer: its row in the Peers view (internal: not in the palette).
      'tonk.revealPeer': async (endpointId?: string, sessionId?: string) => {
        const id = `peer:${endpointId}`
        const node = typeof endpointId === 'string' ? (peersTree.byId(id) ?? (sessionId ? peersTree.byId(`${sessionId}/${id}`) : undefined)) : undefined
        if (!node) return false
        await peersTreeView.reveal(node, { select: true, focus: true })
        return true
      },
      'tonk.newBundle': (target?: vscode.Uri, open?: 'ask' | 'none') => newBundle(c, target, open),
      'tonk.validateManifest': (uri?: vscode.Uri) => validateManifest(c, uri),
      'tonk.packBundle': (uri?: vscode.Uri, output?: vscode.Uri) => packBundle(c, uri, output),
      [RECOMPUTE_COMMAND]: async (uri: vscode.Uri) => {
        try {
          return await recomputeManifest(c, uri)
        } catch (err) {
          log.error(`recompute ${uri?.fsPath}: ${(err as Error).stack ?? err}`)
          void vscode.window.showErrorMessage(vscode.l10n.t('Tonk: cannot recompute {0}: {1}', uri?.fsPath, (err as Error).message))
          return false
        }
      },
    }
    for (const [id, fn] of Object.entries(commands)) c.own(vscode.commands.registerCommand(id, fn))
    registerWebviews(c)
    c.own(vscode.window.registerUriHandler({ handleUri: (uri) => void handleJoinUri(c, sessions, uri) }))

    // Settings other than the log level are read at session start: offer the restart that applies them
    // (to every session running when the setting changed, each on the bundle it runs).
    c.own(
      vscode.workspace.onDidChangeConfiguration((e) => {
        const running = sessions.list().map((r) => ({ session: r.session, uri: r.bundle.candidate.uri }))
        if (running.length === 0 || !e.affectsConfiguration('tonk') || onlyLogLevel(e)) return
        const restart = running.length === 1 ? vscode.l10n.t('Restart Session') : vscode.l10n.t('Restart Sessions')
        void vscode.window.showInformationMessage(vscode.l10n.t('Tonk: the new settings apply when the session restarts.'), restart).then(async (a) => {
          if (!a) return
          for (const r of running) if (sessions.of(r.session)) await vscode.commands.executeCommand('tonk.startSession', r.uri)
        })
      }),
    )

    // Validating the workspace's manifests loads the engine: not during activation, and not in the
    // busiest moment of the window's start either.
    const scan = setTimeout(() => {
      diagnostics
        .scanWorkspace()
        .then(() => log.info(`engine loaded in ${engineLoadMs.toFixed(0)} ms; tonk.json files validated`))
        .then(() => updateP2pContext(c))
        .catch((err) => log.error(`scanning tonk.json files: ${err}`))
    }, SCAN_DELAY_MS)
    c.own({ dispose: () => clearTimeout(scan) })

    activationMs = performance.now() - started
    const loadMs = typeof __tonk_load_started === 'number' ? bundleEvaluatedAt - __tonk_load_started : 0
    api = {
      activationMs,
      loadMs,
      engineLoadMs: () => engineLoadMs,
      ctx: c,
      sessions,
      peersModel,
      documentsModel,
      localPeers,
      diagnostics,
      status,
      trace,
      hotReload,
    }
    log.info(`activated in ${activationMs.toFixed(1)} ms (bundle evaluated in ${loadMs.toFixed(1)} ms)`)
    return api
  } catch (err) {
    log.error(`Tonk P2P failed to activate: ${(err as Error).stack ?? err}`)
    void vscode.window.showErrorMessage(vscode.l10n.t('Tonk P2P failed to activate: {0}', (err as Error).message), vscode.l10n.t('Show Log')).then((a) => {
      if (a) log.channel.show()
    })
    throw err
  }
}

/** Makes the named (or picked) session the active one: new panels and one-session commands use it. */
async function selectSession(sessions: SessionManager, target: unknown): Promise<string | undefined> {
  const session = await chooseSession(sessions, target, vscode.l10n.t('Make which session the active one?'))
  const id = session && sessions.of(session)?.id
  if (id) sessions.select(id)
  return id
}

const SCAN_DELAY_MS = 500
const RESTART_SETTINGS = ['dataDir', 'peerName', 'relays', 'discovery', 'bridge', 'maxFrameBytes']
function onlyLogLevel(e: vscode.ConfigurationChangeEvent): boolean {
  return !RESTART_SETTINGS.some((key) => e.affectsConfiguration(`tonk.${key}`))
}

/** Stops every session and local peer before the extension host goes away. */
export async function deactivate(): Promise<void> {
  const current = api
  api = undefined
  if (current) {
    await Promise.allSettled([current.sessions.shutdown(), current.localPeers.stop()])
  }
  ctx?.dispose()
  ctx = undefined
}
