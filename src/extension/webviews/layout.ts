// Where Tonk's tools open: beside the code, together. The first one (preview, inspector or trace)
// opens beside the active editor; the next ones join the group a Tonk tool is already in, so the
// code being edited is never covered by them and they never pile onto each other's group by chance.
import * as vscode from 'vscode'

const TOOL_VIEW_TYPES = new Set(['tonk.preview', 'tonk.inspector'])
const TRACE_SCHEME = 'tonk-trace'

export function toolColumn(): vscode.ViewColumn {
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      const input = tab.input
      if (input instanceof vscode.TabInputWebview && [...TOOL_VIEW_TYPES].some((t) => input.viewType.endsWith(t))) return group.viewColumn
      if (input instanceof vscode.TabInputText && input.uri.scheme === TRACE_SCHEME) return group.viewColumn
    }
  }
  return vscode.ViewColumn.Beside
}
