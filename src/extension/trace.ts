// Show Sync Trace: a read-only virtual document (scheme tonk-trace, language tonk-trace) whose content is
// the session's trace ring, re-rendered at most once a second while it is open and messages arrive. A
// content provider rather than an untitled file: live updates do not make it "dirty" and closing it asks
// nothing.
import * as vscode from 'vscode'
import { shortId } from '../core/util/text'
import type { PeerRefusedEvent } from '../core/net/iroh-adapter'
import { toolColumn } from './webviews/layout'
import type { RemoteSession as Session } from '../core/session/remote/remote-session'
import type { SessionManager } from './session-manager'
import { formatRefusedLine, formatTraceLine, traceHeader } from './trace-format'

export const TRACE_SCHEME = 'tonk-trace'
export const TRACE_URI = vscode.Uri.from({ scheme: TRACE_SCHEME, path: '/Sync Trace.tonktrace' })
const LIVE_MS = 1000
const REFUSED_KEPT = 200

export class TraceDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>()
  readonly onDidChange = this.emitter.event
  private timer: NodeJS.Timeout | undefined
  private readonly refused: { at: number; event: PeerRefusedEvent }[] = []
  /** The text when the last session stopped, so an open trace stays readable. */
  private frozen: string | undefined
  private readonly disposables: vscode.Disposable[] = []

  constructor(private readonly sessions: SessionManager) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(TRACE_SCHEME, this),
      sessions.onDidChange((s) => (s ? this.attach(s) : this.detach())),
      // The engine posts a trace event per message across threads: only while someone reads them.
      vscode.workspace.onDidOpenTextDocument((d) => d.uri.toString() === TRACE_URI.toString() && this.followTrace(true)),
      vscode.workspace.onDidCloseTextDocument((d) => d.uri.toString() === TRACE_URI.toString() && this.followTrace(false)),
    )
    if (sessions.current) this.attach(sessions.current)
  }

  private attached?: { session: Session; off: () => void }
  private readonly onTrace = () => this.scheduleUpdate()
  /** The last text rendered: what stays readable once the session stopped. */
  private lastText: string | undefined

  private attach(session: Session): void {
    this.detach()
    this.frozen = undefined
    this.refused.length = 0
    const onRefused = (event: PeerRefusedEvent) => {
      this.refused.push({ at: Date.now(), event })
      if (this.refused.length > REFUSED_KEPT) this.refused.shift()
      this.scheduleUpdate()
    }
    session.on('peer-refused', onRefused)
    this.attached = { session, off: () => (session.off('trace', this.onTrace), session.off('peer-refused', onRefused)) }
    this.followTrace(this.isOpen())
    this.scheduleUpdate()
  }

  private followTrace(on: boolean): void {
    const session = this.attached?.session
    if (!session) return
    session.off('trace', this.onTrace)
    if (on) session.on('trace', this.onTrace)
  }

  private detach(): void {
    if (!this.attached) return
    this.frozen = this.lastText
    this.attached.off()
    this.attached = undefined
    this.scheduleUpdate()
  }

  private isOpen(): boolean {
    return vscode.workspace.textDocuments.some((d) => d.uri.toString() === TRACE_URI.toString())
  }

  private scheduleUpdate(): void {
    if (this.timer || !this.isOpen()) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.emitter.fire(TRACE_URI)
    }, LIVE_MS)
  }

  /** The document's text now (the trace ring is the engine's: asked of its thread). */
  async render(live = true): Promise<string> {
    const current = this.attached?.session
    if (!current) return this.frozen ?? traceHeader('no session is running', 0, false).join('\n') + '\n'
    const entries = await current.trace().catch(() => undefined)
    if (!entries) return this.lastText ?? traceHeader('no session is running', 0, false).join('\n') + '\n'
    const names = new Map<string, string>()
    const ourBuild = current.bundle.bundleId
    for (const p of this.sessions.snapshot?.peers ?? []) {
      // A peer on another build of the app is marked where it speaks: name@build.
      const build = p.build && p.build !== ourBuild ? `@build:${p.build.slice(0, 4)}…` : ''
      if (p.name || build) names.set(p.endpointId, `${p.name ?? '-'}${build}`)
    }
    const paths = new Map((this.sessions.snapshot?.documents ?? []).map((d) => [d.documentId, d.path]))
    const lines = [
      ...entries.map((t) => ({ at: t.at, line: formatTraceLine(t, names, paths) })),
      ...this.refused.map((r) => ({ at: r.at, line: formatRefusedLine(r.event, r.at, names) })),
    ].sort((a, b) => a.at - b.at)
    const m = current.bundle.manifest
    const title = `${m.name}@${m.version} as ${shortId(current.endpointId ?? '', 10)} (${current.peerName})`
    const body = lines.map((l) => `${l.line}\n`).join('')
    this.lastText = traceHeader(title, entries.length, false).join('\n') + '\n' + body
    return live ? traceHeader(title, entries.length, true).join('\n') + '\n' + body : this.lastText
  }

  provideTextDocumentContent(): Promise<string> {
    return this.render()
  }

  /** Opens (or re-reads and reveals) the trace document. */
  async show(): Promise<vscode.TextEditor> {
    const open = this.isOpen()
    let doc = await vscode.workspace.openTextDocument(TRACE_URI)
    // The .tonktrace extension selects the language; set it anyway if another extension claimed it.
    if (doc.languageId !== 'tonk-trace') doc = await vscode.languages.setTextDocumentLanguage(doc, 'tonk-trace')
    if (open) this.emitter.fire(TRACE_URI)
    const editor = await vscode.window.showTextDocument(doc, { preview: false, viewColumn: open ? undefined : toolColumn() })
    // Scroll to the newest message.
    const last = editor.document.lineCount - 1
    editor.revealRange(new vscode.Range(last, 0, last, 0))
    return editor
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.attached?.off()
    for (const d of this.disposables) d.dispose()
    this.emitter.dispose()
  }
}
