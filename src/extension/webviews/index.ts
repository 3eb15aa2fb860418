// Registers the webview commands (document inspector, bundle preview). main.ts calls this once.
import type { Ctx } from '../ctx'

export function registerWebviews(_ctx: Ctx): void {
  // Filled in by the webview work (issue 5): tonk.openDocumentInspector, tonk.previewBundle.
}
