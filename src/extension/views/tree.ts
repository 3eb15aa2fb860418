// A TreeDataProvider over a plain ViewModel: VS Code sees TreeItems, the model stays testable.
// Rows stay still under the mouse (test/e2e/scenarios/stable-views.ts):
// - a model update is diffed against what VS Code shows; only rows whose visible part changed (label,
//   description, icon, context, command) are redrawn, in place (same element, same id); a closed row
//   whose children changed waits until it is opened;
// - tooltips are resolved when hovered (resolveTreeItem), so fresh numbers (RTT, bytes) redraw nothing
//   and a hovered tooltip stays (it closed after ~0.5 s when rows were redrawn every 2 s);
// - a row's click runs an argument-free command (see getTreeItem), so a click during a redraw never hits
//   "Actual command not found" (1-4 of 20 quick clicks did while a peer kept changing the document).
// Refreshes are batched: at most one per REFRESH_MS.
import * as vscode from 'vscode'
import type { ViewModel, ViewNode } from './nodes'

const REFRESH_MS = 150

/** What a row shows without hovering it: a change here redraws the row. */
function rowSignature(node: ViewNode): string {
  return JSON.stringify([node.label, node.description, node.contextValue, node.icon, node.command, node.expanded, Boolean(node.children?.length)])
}

const childIds = (node: ViewNode) => (node.children ?? []).map((c) => c.id).join('\n')

export class ModelTreeProvider implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ViewNode | ViewNode[] | undefined | void>()
  readonly onDidChangeTreeData = this.emitter.event
  private timer: NodeJS.Timeout | undefined
  private readonly unsubscribe: () => void
  /** The element VS Code holds for each id, what it showed, and which children it listed. */
  private readonly shown = new Map<string, { node: ViewNode; signature: string; children: string; stale: boolean }>()
  /** Rows the person expanded (a collapsed row's new children wait until it is opened). */
  private readonly expanded = new Set<string>()
  /** Each shown row's parent (for TreeView.reveal). */
  private readonly parents = new Map<string, ViewNode>()
  private rootIds: string[] = []
  private roots: ViewNode[] = []
  /** Rows refreshed so far (tests and the stable-views scenario read it). */
  refreshedRows = 0
  fullRefreshes = 0

  constructor(
    private readonly model: ViewModel,
    /** Told which rows a refresh redraws (the extension logs it at debug level). */
    private readonly onRefresh: (rows: string[] | 'all') => void = () => {},
  ) {
    this.unsubscribe = model.onChange(() => this.scheduleRefresh())
    this.roots = this.adopt(model.roots(), [])
    this.rootIds = this.roots.map((n) => n.id)
  }

  private scheduleRefresh(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refresh()
    }, REFRESH_MS)
  }

  private refresh(): void {
    const changed: ViewNode[] = []
    const next = this.adopt(this.model.roots(), changed)
    const nextIds = next.map((n) => n.id)
    this.roots = next
    if (nextIds.join('\n') !== this.rootIds.join('\n')) {
      this.rootIds = nextIds
      this.fullRefreshes++
      this.onRefresh('all')
      this.emitter.fire()
    } else if (changed.length > 0) {
      this.refreshedRows += changed.length
      this.onRefresh(changed.map((n) => n.id))
      this.emitter.fire(changed)
    }
  }

  /**
   * Maps fresh nodes onto the elements VS Code already holds: an id seen before keeps its object, updated
   * in place; `changed` collects those whose row must be redrawn. Ids no longer present are forgotten.
   */
  private adopt(fresh: ViewNode[], changed: ViewNode[], seen = new Set<string>(), top = true): ViewNode[] {
    if (top) this.parents.clear()
    const out = fresh.map((node) => {
      seen.add(node.id)
      const children = node.children ? this.adopt(node.children, changed, seen, false) : undefined
      const signature = rowSignature(node)
      const kids = childIds(node)
      const known = this.shown.get(node.id)
      if (!known) {
        const element = { ...node, children }
        this.shown.set(node.id, { node: element, signature, children: kids, stale: false })
        if (node.expanded) this.expanded.add(node.id)
        return element
      }
      const element = known.node
      for (const key of Object.keys(element) as (keyof ViewNode)[]) if (!(key in node)) delete element[key]
      Object.assign(element, node, { children })
      const childrenChanged = known.children !== kids
      known.children = kids
      // New or gone children redraw an open row; a closed one is redrawn when it is opened.
      if (known.signature !== signature || (childrenChanged && this.expanded.has(node.id))) {
        known.signature = signature
        known.stale = false
        changed.push(element)
      } else if (childrenChanged) {
        known.stale = true
      }
      return element
    })
    for (const element of out) for (const child of element.children ?? []) this.parents.set(child.id, element)
    if (top) for (const id of [...this.shown.keys()]) if (!seen.has(id)) this.shown.delete(id)
    return out
  }

  private activateCommand: string | undefined

  /** Follows what the person opens, closes and clicks in `view` (registered as `viewId`). */
  watch(view: vscode.TreeView<ViewNode>, viewId: string): vscode.Disposable {
    this.activateCommand = `${viewId}.activateRow`
    return vscode.Disposable.from(
      vscode.commands.registerCommand(this.activateCommand, () => {
        const command = view.selection[0]?.command
        if (command) return vscode.commands.executeCommand(command.command, ...(command.arguments ?? []))
      }),
      view.onDidExpandElement(({ element }) => {
        this.expanded.add(element.id)
        const known = this.shown.get(element.id)
        if (known?.stale) {
          known.stale = false
          this.emitter.fire([known.node])
        }
      }),
      view.onDidCollapseElement(({ element }) => void this.expanded.delete(element.id)),
    )
  }

  getChildren(element?: ViewNode): ViewNode[] {
    return element ? (element.children ?? []) : this.roots
  }

  /** For TreeView.reveal: the row a row is listed under. */
  getParent(node: ViewNode): ViewNode | undefined {
    return this.parents.get(node.id)
  }

  /** The row with this id, as VS Code holds it (to reveal it). */
  byId(id: string): ViewNode | undefined {
    return this.shown.get(id)?.node
  }

  getTreeItem(node: ViewNode): vscode.TreeItem {
    // An `expanded` node is expandable even while empty: VS Code keeps the state it first saw for an id,
    // and the root directory starts empty at every session start.
    const state = node.expanded
      ? vscode.TreeItemCollapsibleState.Expanded
      : node.children?.length
        ? vscode.TreeItemCollapsibleState.Collapsed
        : vscode.TreeItemCollapsibleState.None
    const item = new vscode.TreeItem(node.label, state)
    item.id = node.id
    item.description = node.description
    // No tooltip here: resolveTreeItem gives the current one when the row is hovered.
    item.contextValue = node.contextValue
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined)
    // VS Code keeps a row command that has arguments in a cache tied to that render, and drops it when
    // the row is redrawn: a click during a redraw hit "Actual command not found". A command without
    // arguments is passed by id, so rows get this view's activate command, which runs the selected
    // row's own command (the click selects the row first).
    if (node.command && this.activateCommand) item.command = { command: this.activateCommand, title: node.command.title }
    else if (node.command) item.command = node.command
    return item
  }

  resolveTreeItem(item: vscode.TreeItem, node: ViewNode): vscode.TreeItem {
    if (node.tooltip) item.tooltip = new vscode.MarkdownString(node.tooltip)
    return item
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.unsubscribe()
    this.emitter.dispose()
  }
}
