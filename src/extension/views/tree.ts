// A TreeDataProvider over a plain ViewModel: VS Code sees TreeItems, the model stays testable. Refreshes
// are batched (peer events come in bursts): at most one per REFRESH_MS. Each refresh is reconciled with
// the rows VS Code already shows: a row keeps its element object while its id lives, and only rows whose
// content changed are fired. A full refresh would replace every item, closing an open tooltip and letting
// a click land on an item that no longer exists ("command not found").
import * as vscode from 'vscode'
import type { ViewModel, ViewNode } from './nodes'

const REFRESH_MS = 150

/** What VS Code draws for a row itself (not its children's content): a change here re-fires the row. */
function ownSignature(node: ViewNode): string {
  const { children, ...own } = node
  return JSON.stringify([own, children?.map((c) => c.id)])
}

export class ModelTreeProvider implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ViewNode | ViewNode[] | undefined | void>()
  readonly onDidChangeTreeData = this.emitter.event
  private timer: NodeJS.Timeout | undefined
  private readonly unsubscribe: () => void
  /** The rows VS Code holds, by id, with the signature they were drawn with. */
  private shown = new Map<string, { node: ViewNode; sig: string }>()
  private roots: ViewNode[] | undefined
  /** How many refreshes fired, and how many rows they named (tests and measurements read it). */
  readonly stats = { refreshes: 0, full: 0, rows: 0 }

  constructor(private readonly model: ViewModel) {
    this.unsubscribe = model.onChange(() => this.scheduleRefresh())
  }

  private scheduleRefresh(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.reconcile()
    }, REFRESH_MS)
  }

  /** Merges the model's new rows into the shown ones; fires nothing when nothing changed. */
  private reconcile(): void {
    const next = new Map<string, { node: ViewNode; sig: string }>()
    const changed: ViewNode[] = []
    const merge = (fresh: ViewNode): ViewNode => {
      const kids = fresh.children?.map(merge)
      const sig = ownSignature(fresh)
      const old = this.shown.get(fresh.id)
      let node: ViewNode
      if (old && !next.has(fresh.id)) {
        node = old.node
        if (old.sig !== sig) {
          // Same object, new content: VS Code asks getTreeItem again for exactly this element.
          for (const k of Object.keys(node) as (keyof ViewNode)[]) if (!(k in fresh)) delete node[k]
          Object.assign(node, fresh)
          changed.push(node)
        }
      } else {
        node = fresh
      }
      if (kids) node.children = kids
      next.set(fresh.id, { node, sig })
      return node
    }
    const fresh = this.model.roots().map(merge)
    const rootsChanged = !this.roots || this.roots.length !== fresh.length || fresh.some((n, i) => n !== this.roots![i])
    this.shown = next
    this.roots = fresh
    if (rootsChanged) {
      this.stats.refreshes++
      this.stats.full++
      this.emitter.fire()
    } else if (changed.length) {
      this.stats.refreshes++
      this.stats.rows += changed.length
      this.emitter.fire(changed)
    }
  }

  getChildren(element?: ViewNode): ViewNode[] {
    if (element) return element.children ?? []
    if (!this.roots) this.reconcile()
    return this.roots ?? []
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
    if (node.tooltip) item.tooltip = new vscode.MarkdownString(node.tooltip)
    item.contextValue = node.contextValue
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined)
    if (node.command) item.command = node.command
    return item
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.unsubscribe()
    this.emitter.dispose()
  }
}
