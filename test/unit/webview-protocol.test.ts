// The webviews' host-side pieces that need no editor: message guards, the inspector's document model
// and edits (on real Automerge documents), and the preview's entry-HTML rewrite.
import assert from 'node:assert/strict'
import { Counter, Repo } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import type { InspectorEdit } from '../../src/protocol/inspector'
import { isJsonValue, parseInspectorMessage, parseMeshMessage, parsePreviewMessage } from '../../src/extension/webviews/guards'
import { applyEdit, describeEdit, docHistory, EditError, toInspectorValue } from '../../src/extension/webviews/inspector-model'
import { previewCsp, rewriteEntryHtml } from '../../src/extension/webviews/preview-html'

await initAutomerge()

describe('webview protocol guards', () => {
  it('accepts every inspector message of the protocol', () => {
    const good: unknown[] = [
      { type: 'ready' },
      { type: 'set', requestId: 1, path: ['places', 'a', 'name'], value: 'Lisbon' },
      { type: 'set', requestId: 2, path: ['list', 0], value: { nested: [1, null, true] } },
      { type: 'add-key', requestId: 3, path: [], key: 'title', value: 'x' },
      { type: 'delete', requestId: 4, path: ['places', 'a'] },
      { type: 'history', requestId: 5, offset: 0, limit: 200 },
      { type: 'value-at', requestId: 6, at: { index: 3, hash: 'a'.repeat(64) } },
      { type: 'diff', requestId: 7, from: { index: 1, hash: 'b'.repeat(64) }, to: 'now' },
      { type: 'diff', requestId: 8, from: 'now', to: { index: 2, hash: 'c'.repeat(64) } },
      { type: 'restore', requestId: 9, at: { index: 0, hash: 'd'.repeat(64) } },
    ]
    for (const m of good) assert.deepEqual(parseInspectorMessage(m), { ok: true, message: m })
  })

  it('drops malformed inspector messages with a reason', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      ['ready', /not an object/],
      [{ type: 'eval', code: 'x' }, /unknown type/],
      [{ type: 'set', path: ['a'], value: 1 }, /requestId/],
      [{ type: 'set', requestId: -1, path: ['a'], value: 1 }, /requestId/],
      [{ type: 'set', requestId: 1.5, path: ['a'], value: 1 }, /requestId/],
      [{ type: 'set', requestId: 1, path: 'a', value: 1 }, /path/],
      [{ type: 'set', requestId: 1, path: [{}], value: 1 }, /path/],
      [{ type: 'set', requestId: 1, path: [-1], value: 1 }, /path/],
      [{ type: 'set', requestId: 1, path: [], value: 1 }, /root/],
      [{ type: 'set', requestId: 1, path: ['a'] }, /not JSON/],
      [{ type: 'set', requestId: 1, path: ['a'], value: NaN }, /not JSON/],
      [{ type: 'set', requestId: 1, path: ['a'], value: new Date() }, /not JSON/],
      [{ type: 'add-key', requestId: 1, path: [], key: '', value: 1 }, /key/],
      [{ type: 'add-key', requestId: 1, path: [], value: 1 }, /key/],
      [{ type: 'delete', requestId: 1, path: [] }, /root/],
      [{ type: 'set', requestId: 1, path: new Array(65).fill('a'), value: 1 }, /path/],
      [{ type: 'history', requestId: 1, offset: 0, limit: 501 }, /limit/],
      [{ type: 'history', requestId: 1, offset: -1, limit: 10 }, /offset/],
      [{ type: 'history', requestId: 1, offset: 0, limit: 0 }, /limit/],
      [{ type: 'value-at', requestId: 1, at: 'now' }, /point/],
      [{ type: 'value-at', requestId: 1, at: { index: 0, hash: 'xyz' } }, /point/],
      [{ type: 'value-at', requestId: 1, at: { index: -1, hash: 'a'.repeat(64) } }, /point/],
      [{ type: 'restore', requestId: 1, at: { index: 0, hash: 'A'.repeat(64) } }, /point/],
      [{ type: 'diff', requestId: 1, from: 'now' }, /point/],
      [{ type: 'diff', requestId: 1, from: 'then', to: 'now' }, /point/],
    ]
    for (const [m, reason] of cases) {
      const parsed = parseInspectorMessage(m)
      assert.equal(parsed.ok, false, JSON.stringify(m))
      assert.match((parsed as { reason: string }).reason, reason, JSON.stringify(m))
    }
  })

  it('bounds JSON values (size, depth, plain objects only)', () => {
    assert.equal(isJsonValue({ a: [1, 'b', null, { c: false }] }), true)
    assert.equal(isJsonValue(new Array(20_000).fill(1)), false)
    let deep: unknown = 1
    for (let i = 0; i < 100; i++) deep = [deep]
    assert.equal(isJsonValue(deep), false)
    assert.equal(isJsonValue(Object.create({ inherited: 1 })), false)
    assert.equal(isJsonValue(Infinity), false)
    assert.equal(isJsonValue(undefined), false)
  })

  it('accepts preview messages and normalizes adapter frames', () => {
    assert.deepEqual(parsePreviewMessage({ type: 'ready' }), { ok: true, message: { type: 'ready' } })
    const bytes = new Uint8Array([1, 2, 3])
    const fromBuffer = parsePreviewMessage({ type: 'adapter', frame: { kind: 'message', bytes: bytes.buffer } })
    assert.ok(fromBuffer.ok && fromBuffer.message.type === 'adapter' && fromBuffer.message.frame.kind === 'message')
    assert.deepEqual([...(fromBuffer.message.frame as { bytes: Uint8Array }).bytes], [1, 2, 3])
    const arrive = parsePreviewMessage({ type: 'adapter', frame: { kind: 'arrive', peerId: 'p', peerMetadata: { isEphemeral: true, extra: 'dropped' } } })
    assert.deepEqual(arrive, { ok: true, message: { type: 'adapter', frame: { kind: 'arrive', peerId: 'p', peerMetadata: { isEphemeral: true } } } })
    const longLog = parsePreviewMessage({ type: 'log', level: 'warn', message: 'x'.repeat(5000) })
    assert.ok(longLog.ok && longLog.message.type === 'log' && longLog.message.message.length === 2000)
  })

  it('mesh messages: ready, and reveal of an endpoint id only', () => {
    assert.deepEqual(parseMeshMessage({ type: 'ready' }), { ok: true, message: { type: 'ready' } })
    assert.deepEqual(parseMeshMessage({ type: 'reveal', endpointId: 'a'.repeat(64) }), { ok: true, message: { type: 'reveal', endpointId: 'a'.repeat(64) } })
    for (const bad of [undefined, 'ready', { type: 'reveal' }, { type: 'reveal', endpointId: 'A'.repeat(64) }, { type: 'reveal', endpointId: 'a'.repeat(65) }, { type: 'mesh' }]) {
      assert.equal(parseMeshMessage(bad).ok, false, JSON.stringify(bad))
    }
  })

  it('drops malformed preview messages', () => {
    const cases: unknown[] = [
      undefined,
      { type: 'init' }, // host-to-page only
      { type: 'adapter' },
      { type: 'adapter', frame: { kind: 'message', bytes: [1, 2, 3] } },
      { type: 'adapter', frame: { kind: 'message', bytes: 'AQID' } },
      { type: 'adapter', frame: { kind: 'arrive', peerId: '' } },
      { type: 'adapter', frame: { kind: 'arrive', peerId: 'x'.repeat(300) } },
      { type: 'adapter', frame: { kind: 'arrive', peerId: 'p', peerMetadata: { storageId: 5 } } },
      { type: 'adapter', frame: { kind: 'leave' } },
      { type: 'adapter', frame: { kind: 'execute' } },
      { type: 'log', level: 'fatal', message: 'x' },
      { type: 'log', level: 'info', message: { toString: 1 } },
    ]
    for (const m of cases) assert.equal(parsePreviewMessage(m).ok, false, JSON.stringify(m))
  })
})

describe('inspector document model', () => {
  let repo: Repo
  beforeEach(() => (repo = new Repo({ network: [] })))
  afterEach(() => repo.shutdown())

  it('tags Automerge values for the tree', () => {
    const handle = repo.create<Record<string, unknown>>({
      s: 'text',
      n: 4.5,
      b: true,
      z: null,
      c: new Counter(3),
      d: new Date('2024-01-02T03:04:05Z'),
      bytes: new Uint8Array([0xca, 0xfe]),
      list: [1, { deep: 'x' }],
    })
    assert.deepEqual(toInspectorValue(handle.doc()), {
      kind: 'object',
      entries: [
        // Automerge lists map keys in order.
        ['b', { kind: 'boolean', value: true }],
        ['bytes', { kind: 'bytes', length: 2, hex: 'cafe' }],
        ['c', { kind: 'counter', value: 3 }],
        ['d', { kind: 'date', value: '2024-01-02T03:04:05.000Z' }],
        ['list', { kind: 'array', items: [{ kind: 'number', value: 1 }, { kind: 'object', entries: [['deep', { kind: 'string', value: 'x' }]] }] }],
        ['n', { kind: 'number', value: 4.5 }],
        ['s', { kind: 'string', value: 'text' }],
        ['z', { kind: 'null' }],
      ],
    })
  })

  it('stops at a node budget instead of sending a huge document', () => {
    const handle = repo.create<{ list: number[] }>({ list: Array.from({ length: 100 }, (_, i) => i) })
    const value = toInspectorValue(handle.doc(), { nodes: 10 })
    assert.ok(value.kind === 'object' && value.entries[0]![1].kind === 'array')
    const items = (value.entries[0]![1] as { items: Array<{ kind: string }> }).items
    assert.ok(items.filter((i) => i.kind === 'other').length > 80)
  })

  it('applies set, add-key and delete as Automerge changes, with a message in the history', () => {
    const handle = repo.create<Record<string, any>>({ places: { a: { name: 'Lisbon', votes: 1 } }, tags: ['x', 'y', 'z'] })
    const edit = (e: InspectorEdit) => handle.change((d) => applyEdit(d, e), { message: describeEdit(e) })
    edit({ type: 'set', requestId: 1, path: ['places', 'a', 'name'], value: 'Porto' })
    edit({ type: 'set', requestId: 2, path: ['tags', 1], value: { nested: true } })
    edit({ type: 'add-key', requestId: 3, path: ['places'], key: 'b', value: { name: 'Kyoto' } })
    edit({ type: 'delete', requestId: 4, path: ['tags', 0] })
    edit({ type: 'delete', requestId: 5, path: ['places', 'a', 'votes'] })
    assert.deepEqual(JSON.parse(JSON.stringify(handle.doc())), {
      places: { a: { name: 'Porto' }, b: { name: 'Kyoto' } },
      tags: [{ nested: true }, 'z'],
    })
    const { history, totalChanges } = docHistory(handle, 3)
    assert.equal(totalChanges, 6)
    assert.deepEqual(history.map((h) => h.message), ['inspector: delete places.a.votes', 'inspector: delete tags[0]', 'inspector: add places.b'])
    assert.ok(history.every((h) => h.actor.length > 0 && h.seq > 0 && h.hash.length > 0 && h.ops > 0))
    assert.ok(Math.abs(history[0]!.time - Date.now()) < 5 * 60_000, 'time is in ms')
  })

  it('refuses edits whose path does not fit, and changes nothing', () => {
    const handle = repo.create<Record<string, any>>({ o: { k: 1 }, list: [1], s: 'str' })
    const heads = handle.heads()
    const refused: Array<[InspectorEdit, RegExp]> = [
      [{ type: 'set', requestId: 1, path: ['missing'], value: 1 }, /no key "missing"/],
      [{ type: 'set', requestId: 1, path: ['o', 'missing', 'x'], value: 1 }, /no key "missing"/],
      [{ type: 'set', requestId: 1, path: ['list', 5], value: 1 }, /no element 5/],
      [{ type: 'set', requestId: 1, path: ['list', 'x'], value: 1 }, /no element x/],
      [{ type: 'add-key', requestId: 1, path: ['o'], key: 'k', value: 2 }, /exists already/],
      [{ type: 'add-key', requestId: 1, path: ['list'], key: 'k', value: 2 }, /is a list/],
      [{ type: 'add-key', requestId: 1, path: ['s'], key: 'k', value: 2 }, /not an object or a list/],
      [{ type: 'delete', requestId: 1, path: ['o', 'nope'] }, /no key "nope"/],
      [{ type: 'set', requestId: 1, path: ['__proto__'], value: 1 }, /no key "__proto__"/],
    ]
    for (const [e, message] of refused) {
      assert.throws(() => handle.change((d) => applyEdit(d, e)), (err: Error) => err instanceof EditError && message.test(err.message), JSON.stringify(e))
    }
    assert.deepEqual(handle.heads(), heads)
  })
})

describe('preview entry HTML', () => {
  const options = { baseHref: 'https://res/bundle/', shimSrc: 'https://res/out/webview/preview.js', nonce: 'N0nce', cspSource: 'https://res' }

  it('puts the CSP, the base and the shim first in <head>, before the app scripts', () => {
    const html = '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<link rel="stylesheet" href="style.css">\n</head>\n<body><script src="app.js"></script></body></html>'
    const out = rewriteEntryHtml({ ...options, html })
    const csp = out.indexOf('Content-Security-Policy')
    const base = out.indexOf('<base href="https://res/bundle/">')
    const shim = out.indexOf('<script nonce="N0nce" src="https://res/out/webview/preview.js"></script>')
    assert.ok(csp < out.indexOf('<head>') && csp < base && base < shim && shim < out.indexOf('style.css') && shim < out.indexOf('app.js'), out)
    assert.ok(out.includes('<body><script src="app.js"></script></body>'), 'the app is otherwise untouched')
  })

  it('handles pages without <head>, and drops the app\'s own <base>', () => {
    const noHead = rewriteEntryHtml({ ...options, html: '<html><body>x</body></html>' })
    assert.match(noHead, /^\n<meta http-equiv="Content-Security-Policy"[^]*preview\.js"><\/script>\n<html><body>x<\/body><\/html>$/)
    const bare = rewriteEntryHtml({ ...options, html: '<!DOCTYPE html><p>hi</p>' })
    assert.match(bare, /^<!DOCTYPE html>\n<meta http-equiv="Content-Security-Policy"[^]*preview\.js"><\/script>\n<p>hi<\/p>$/)
    const withBase = rewriteEntryHtml({ ...options, html: '<head><base href="https://evil.example/"></head>' })
    assert.equal(withBase.includes('evil.example'), false)
  })

  it('escapes what it injects', () => {
    const out = rewriteEntryHtml({ ...options, baseHref: 'https://res/a"b/', html: '<head></head>' })
    assert.ok(out.includes('<base href="https://res/a&quot;b/">'))
  })

  it('allows scripts only by nonce or from the webview resource origin, and WASM', () => {
    const csp = previewCsp('N', 'https://res')
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'nonce-N' 'wasm-unsafe-eval' https:\/\/res(;|$)/)
    assert.doesNotMatch(csp, /[ ;]'unsafe-eval'|script-src[^;]*unsafe-inline/)
    assert.match(csp, /connect-src https:\/\/res(;|$)/)
  })
})
