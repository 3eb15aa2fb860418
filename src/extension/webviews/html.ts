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

export { escapeHtml } from './escape'
