// Shared pieces of the webviews' HTML: nonces, the resource roots, escaping.
import { randomBytes } from 'node:crypto'
import * as vscode from 'vscode'

/** A fresh CSP nonce per rendered page. */
export function nonce(): string {
  return randomBytes(18).toString('base64')
}

/** Built webview scripts and styles (esbuild: webview-ui/<name>/main.ts -> out/webview/<name>.js). */
export function webviewOut(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'out', 'webview')
}

export function mediaDir(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'media')
}

import { ownPageCsp, ownPageHtml } from './page'

export { escapeHtml } from './escape'

/** The page of one of our own webviews (built from webview-ui/<name>/): see page.ts. `body` is trusted HTML. */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, o: { name: string; title: string; body: string; extraCsp?: string[] }): string {
  const out = webviewOut(extensionUri)
  const n = nonce()
  return ownPageHtml({
    csp: ownPageCsp(n, webview.cspSource, o.extraCsp),
    nonce: n,
    scriptSrc: webview.asWebviewUri(vscode.Uri.joinPath(out, `${o.name}.js`)).toString(),
    styleHref: webview.asWebviewUri(vscode.Uri.joinPath(out, `${o.name}.css`)).toString(),
    title: o.title,
    body: o.body,
  })
}
