// Rewrites a bundle's entry HTML for the preview webview (pure, unit-tested): a CSP, a <base> pointing
// at the extracted bundle, and the injected shim as the first script, before any markup of the app's own.
import { escapeHtml } from './escape'

export interface PreviewHtmlOptions {
  /** The entry HTML as the bundle ships it. */
  html: string
  /** asWebviewUri of the folder holding the entry file, ending in '/'. */
  baseHref: string
  /** asWebviewUri of out/webview/preview.js. */
  shimSrc: string
  nonce: string
  /** webview.cspSource */
  cspSource: string
}

/**
 * The CSP of a previewed app. Scripts: the shim by nonce, the app's own files from the webview's
 * resource origin (only the extracted bundle and out/webview are reachable there), WASM for Automerge.
 * Inline scripts and eval stay blocked; inline styles are allowed (apps use style attributes).
 * Nothing can be fetched from anywhere else.
 */
export function previewCsp(nonce: string, cspSource: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval' ${cspSource}`,
    `style-src ${cspSource} 'unsafe-inline'`,
    `img-src ${cspSource} data: blob:`,
    `media-src ${cspSource} data: blob:`,
    `font-src ${cspSource} data:`,
    `connect-src ${cspSource}`,
    "frame-src 'none'",
    "object-src 'none'",
    "form-action 'none'",
  ].join('; ')
}

export function rewriteEntryHtml(o: PreviewHtmlOptions): string {
  const inject =
    `\n<meta http-equiv="Content-Security-Policy" content="${escapeHtml(previewCsp(o.nonce, o.cspSource))}">` +
    `\n<base href="${escapeHtml(o.baseHref)}">` +
    `\n<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.shimSrc)}"></script>\n`
  // The app's own <base> would redirect its relative URLs out of the bundle: neutralize it.
  const html = o.html.replace(/<base\b[^>]*>/gi, '')
  // Inject before any markup of the app, right after the doctype: a meta CSP governs only what follows
  // it, and an app page may legally put a <script> before <head>. The parser opens <html>/<head>
  // implicitly for these elements; the app's own <html>/<head> tags then merge into them.
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html)
  const at = doctype ? doctype[0].length : 0
  return html.slice(0, at) + inject + html.slice(at)
}
