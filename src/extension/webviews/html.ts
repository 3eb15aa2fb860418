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

import { escapeHtml } from './escape'

export { escapeHtml }

/**
 * The page of one of our own webviews (built from webview-ui/<name>/): its script by nonce, its
 * stylesheet, nothing else loadable (`extraCsp` adds e.g. `img-src`). `body` is trusted HTML.
 */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, o: { name: string; title: string; body: string; extraCsp?: string }): string {
  const out = webviewOut(extensionUri)
  const script = webview.asWebviewUri(vscode.Uri.joinPath(out, `${o.name}.js`))
  const style = webview.asWebviewUri(vscode.Uri.joinPath(out, `${o.name}.css`))
  const n = nonce()
  const csp = `default-src 'none'; script-src 'nonce-${n}'; style-src ${webview.cspSource}; font-src ${webview.cspSource}${o.extraCsp ? `; ${o.extraCsp}` : ''}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
${o.body}
<script nonce="${n}" src="${script}"></script>
</body>
</html>`
}
