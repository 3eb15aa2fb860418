// Webview security properties, checked on what the host generates and accepts (the webview code is
// another engineer's; these tests only read it): nonce CSPs without 'unsafe-inline'/'unsafe-eval' for
// scripts and without remote sources, the previewed app's CSP in force before any of its own markup,
// narrow localResourceRoots, and host guards that take only protocol-shaped messages, never throwing.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { isJsonValue, parseInspectorMessage, parsePreviewMessage } from '../../src/extension/webviews/guards'
import { ownPageCsp, ownPageHtml } from '../../src/extension/webviews/page'
import { previewCsp, rewriteEntryHtml } from '../../src/extension/webviews/preview-html'
import { repoRoot } from '../helpers/cli'
import { count, figure } from './summary'

const RUNS = Number(process.env.TONK_FUZZ_RUNS ?? (process.env.TONK_RELIABILITY === 'ci' ? 300 : 2000))
const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net'
const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2U='

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  )
}

/** Sources a CSP lets scripts come from, other than the nonce and the webview's own resource origin. */
function foreignScriptSources(csp: string, cspSource: string): string[] {
  const d = directives(csp)
  const script = d.get('script-src') ?? d.get('default-src') ?? []
  return script.filter((s) => !s.startsWith("'nonce-") && s !== cspSource && s !== "'wasm-unsafe-eval'")
}

describe('reliability: webview security (CSP, resource roots, message guards)', function () {
  let checks = 0
  after(() => {
    figure('webviews', `${checks} webview checks (CSP of both webviews, entry HTML rewriting, resource roots, guards over ${RUNS} fuzzed messages each)`)
    count('webview checks', checks)
  })

  it("the preview CSP: default-src 'none', scripts only by nonce / resource origin / WASM, no remote or inline code", () => {
    const csp = previewCsp(NONCE, CSP_SOURCE)
    const d = directives(csp)
    assert.deepEqual(d.get('default-src'), ["'none'"])
    assert.deepEqual(foreignScriptSources(csp, CSP_SOURCE), [], csp)
    for (const [name, values] of d) {
      assert.ok(!values.includes("'unsafe-eval'"), `${name} allows 'unsafe-eval'`)
      if (name !== 'style-src') assert.ok(!values.includes("'unsafe-inline'"), `${name} allows 'unsafe-inline'`)
      for (const v of values) assert.ok(!/^(https?:|\*|wss?:)/.test(v) || v === CSP_SOURCE, `${name} allows ${v}`)
    }
    for (const none of ['frame-src', 'object-src', 'form-action']) assert.deepEqual(d.get(none), ["'none'"], none)
    assert.deepEqual(d.get('connect-src'), [CSP_SOURCE], 'the app can fetch nothing but its own files')
    checks++
  })

  it('our own pages (inspector, mesh): nonce scripts only, nothing remote, nothing inline', () => {
    // What each page adds to the CSP, read from its host source; the CSP itself from the one builder.
    const inspector = readFileSync(join(repoRoot, 'src', 'extension', 'webviews', 'inspector.ts'), 'utf8')
    const mesh = readFileSync(join(repoRoot, 'src', 'extension', 'webviews', 'mesh.ts'), 'utf8')
    assert.match(inspector, /extraCsp: \[`img-src \$\{this\.panel\.webview\.cspSource\} data:`\]/, 'the inspector adds only data: and its own images')
    assert.ok(!/extraCsp/.test(mesh), 'the mesh adds nothing')
    for (const extra of [[`img-src ${CSP_SOURCE} data:`], []]) {
      const csp = ownPageCsp(NONCE, CSP_SOURCE, extra)
      const d = directives(csp)
      assert.deepEqual(d.get('default-src'), ["'none'"])
      assert.deepEqual(d.get('script-src'), [`'nonce-${NONCE}'`])
      assert.ok(!/unsafe-(inline|eval)/.test(csp), csp)
      assert.ok(!/https?:\/\/(?!file\+\.vscode-resource)/.test(csp), csp)
      const html = ownPageHtml({ csp, nonce: NONCE, scriptSrc: `${CSP_SOURCE}/out/webview/x.js`, styleHref: `${CSP_SOURCE}/x.css`, title: '<t>', body: '<div id="app"></div>' })
      assert.equal(html.match(/<script\b/g)?.length, 1, 'one script')
      assert.ok(html.includes(`<script nonce="${NONCE}" src="${CSP_SOURCE}/out/webview/x.js"></script>`), 'its one script carries the nonce')
      assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<script'), 'the CSP comes first')
    }
    checks++
  })

  it('localResourceRoots are narrow: built webview code, media, and the one extracted bundle', () => {
    for (const [file, allowed] of [
      ['inspector.ts', ['webviewOut(ctx.extension.extensionUri)', 'mediaDir(ctx.extension.extensionUri)']],
      ['preview.ts', ['webviewOut(ctx.extension.extensionUri)', 'bundleRoot']],
    ] as const) {
      const source = readFileSync(join(repoRoot, 'src', 'extension', 'webviews', file), 'utf8')
      const roots = [...source.matchAll(/localResourceRoots:\s*\[([^\]]*)\]/g)].map((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean))
      assert.ok(roots.length > 0, `${file} sets localResourceRoots`)
      for (const list of roots) for (const r of list) assert.ok((allowed as readonly string[]).includes(r), `${file}: unexpected resource root ${r}`)
      assert.ok(!/enableCommandUris:\s*true/.test(source), `${file} enables command URIs`)
      checks++
    }
  })

  // Pieces of entry pages as bundles ship them (and as an attacker would write them).
  const piece = fc.constantFrom(
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<HEAD data-x="1">',
    '</head>',
    '<meta charset="utf-8">',
    '<base href="https://evil.example/">',
    '<script src="app.js"></script>',
    '<script>inline()</script>',
    '<body>',
    '<!-- <head> -->',
    '<title>x</title>',
    '<link rel="stylesheet" href="s.css">',
    'text',
  )

  it('entry HTML rewriting: the CSP meta and the shim come before any app markup, no <base> of the app survives', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const html = pieces.join('\n')
        const out = rewriteEntryHtml({ html, baseHref: 'https://res/bundle/', shimSrc: 'https://res/out/webview/preview.js', nonce: NONCE, cspSource: CSP_SOURCE })
        assert.equal(out.match(/http-equiv="Content-Security-Policy"/g)?.length, 1)
        assert.ok(!out.includes('evil.example'), 'the app’s <base> was removed')
        const cspAt = out.indexOf('http-equiv="Content-Security-Policy"')
        const shimAt = out.indexOf(`<script nonce="${NONCE}" src="https://res/out/webview/preview.js">`)
        assert.ok(shimAt > cspAt, 'the shim loads under the CSP')
        // Every app script runs under the CSP and after the shim, wherever the app put it.
        const firstScript = out.search(/<script\b/i)
        assert.ok(firstScript > cspAt, 'no script before the CSP')
        assert.equal(firstScript, shimAt, 'the shim is the first script')
      }),
      { numRuns: RUNS },
    )
    checks++
  })

  it('markup before <head> (a script before <html>) still comes after the injected CSP and shim', () => {
    // A meta CSP applies only to what follows it, and a page may legally put a <script> before <head>
    // (the parser opens <head> implicitly): the injection must precede all of the app's markup.
    const html = '<!doctype html><script>fetch("https://evil.example/")</script><html><head><title>x</title></head><body></body></html>'
    const out = rewriteEntryHtml({ html, baseHref: 'https://res/b/', shimSrc: 'https://res/s.js', nonce: NONCE, cspSource: CSP_SOURCE })
    const cspAt = out.indexOf('Content-Security-Policy')
    const shimAt = out.indexOf('https://res/s.js')
    const inlineAt = out.indexOf('fetch(')
    checks++
    assert.ok(cspAt >= 0 && cspAt < shimAt && shimAt < inlineAt, out)
  })

  it('host guards: fuzzed and malformed messages are dropped with a reason, never throw; accepted ones are protocol-shaped', () => {
    const inspectorValid = [
      { type: 'ready' },
      { type: 'set', requestId: 1, path: ['a', 0], value: { x: 1 } },
      { type: 'add-key', requestId: 2, path: [], key: 'k', value: [1, 'two', null] },
      { type: 'delete', requestId: 3, path: ['a'] },
    ]
    const previewValid = [
      { type: 'ready' },
      { type: 'log', level: 'info', message: 'hello' },
      { type: 'adapter', frame: { kind: 'arrive', peerId: 'app', peerMetadata: {} } },
      { type: 'adapter', frame: { kind: 'message', bytes: new Uint8Array([1, 2]) } },
    ]
    const mutated = (valid: object[]) =>
      fc.tuple(fc.constantFrom(...valid), fc.string({ maxLength: 12 }), fc.anything()).map(([m, key, value]) => ({ ...m, [key]: value }))
    fc.assert(
      fc.property(fc.oneof(fc.anything(), mutated(inspectorValid)), (value) => {
        const r = parseInspectorMessage(value)
        if (r.ok) {
          assert.ok(['ready', 'set', 'add-key', 'delete'].includes(r.message.type))
          assert.deepEqual(parseInspectorMessage(r.message), r, 'an accepted message is accepted again as is')
        } else assert.equal(typeof r.reason, 'string')
      }),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(fc.oneof(fc.anything(), mutated(previewValid)), (value) => {
        const r = parsePreviewMessage(value)
        if (r.ok) {
          assert.ok(['ready', 'adapter', 'log'].includes(r.message.type))
          if (r.message.type === 'log') assert.ok(r.message.message.length <= 2000)
        } else assert.equal(typeof r.reason, 'string')
      }),
      { numRuns: RUNS },
    )
    // Values that are not plain JSON never reach a document.
    const polluted = JSON.parse('{"__proto__": {"polluted": true}}')
    assert.equal(isJsonValue(new Date()), false)
    assert.equal(isJsonValue({ f: () => 1 }), false)
    assert.equal(isJsonValue(Number.NaN), false)
    const deep: any = []
    let cur = deep
    for (let i = 0; i < 100; i++) cur = cur[0] = []
    assert.equal(isJsonValue(deep), false, 'depth bounded')
    assert.equal(typeof isJsonValue(polluted), 'boolean')
    assert.equal(({} as any).polluted, undefined)
    assert.equal(parseInspectorMessage({ type: 'set', requestId: 1, path: [], value: 1 }).ok, false, 'the root cannot be replaced')
    checks++
  })
})
