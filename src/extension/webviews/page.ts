// The HTML of our own webview pages (inspector, mesh), pure so the reliability suite checks exactly what
// the host sends: a CSP that lets in only the page's nonce script and the extension's own styles and
// fonts (plus what a page adds, e.g. the inspector's data: images), and one script tag carrying the nonce.
import { escapeHtml } from './escape'

export function ownPageCsp(nonce: string, cspSource: string, extra: readonly string[] = []): string {
  return ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src ${cspSource}`, `font-src ${cspSource}`, ...extra].join('; ')
}

/** `body` is trusted HTML (escape what goes into it). */
export function ownPageHtml(o: { csp: string; nonce: string; scriptSrc: string; styleHref: string; title: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(o.csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(o.styleHref)}">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
${o.body}
<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptSrc)}"></script>
</body>
</html>`
}
