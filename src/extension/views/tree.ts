// A TreeDataProvider over a plain ViewModel: VS Code sees TreeItems, the model stays testable. Refreshes
// are batched (peer events come in bursts): at most one per REFRESH_MS.
import * as vscode from 'vscode'
import type { ViewModel, ViewNode } from './nodes'

const REFRESH_MS = 150

export class ModelTreeProvider implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ViewNode | undefined | void>()
  readonly onDidChangeTreeData = this.emitter.event
  private timer: NodeJS.Timeout | undefined
  private readonly unsubscribe: () => void

  constructor(private readonly model: ViewModel) {
    this.unsubscribe = model.onChange(() => this.scheduleRefresh())
  }

  private scheduleRefresh(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.emitter.fire()
    }, REFRESH_MS)
  }

  getChildren(element?: ViewNode): ViewNode[] {
    return element ? (element.children ?? []) : this.model.roots()
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
