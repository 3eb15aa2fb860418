// The extension's view-models and text helpers are plain code: tested here without VS Code, on
// snapshots shaped like the engine's (src/core/session/session.ts).
import assert from 'node:assert/strict'
import type { PeerSnapshot, SessionSnapshot } from '../../src/core/session/session'
import { locateJson, rangeFor } from '../../src/extension/manifest/json-ranges'
import { placeIssues } from '../../src/extension/manifest/place-issues'
import { formatRefusedLine, formatTraceLine } from '../../src/extension/trace-format'
import { DocumentsModel } from '../../src/extension/views/documents-model'
import { formatBytes } from '../../src/extension/views/nodes'
import { PeersModel } from '../../src/extension/views/peers-model'
import { statusText, statusTextAll } from '../../src/extension/views/status-text'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const C = 'c'.repeat(64)
const D = 'd'.repeat(64)
const DOC1 = '4NMNnkMhL8jXrdJ9jamS7ztqkPSo'
const DOC2 = '2t1xSWRcvRafSuwXUHLZxHyKMbfa'
const ROOT = '3XtUpZtjP5fbGo4P3W5c4ZqNLQ1b'

function peer(over: Partial<PeerSnapshot>): PeerSnapshot {
  return { endpointId: A, state: 'connected', bytesIn: 2048, bytesOut: 100, dialed: true, connections: 1, source: 'ticket', docs: {}, ...over }
}

function snapshot(over: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    state: 'running',
    bundle: { name: 'my-world', version: '0.1.0', bundleId: 'f'.repeat(64), namespace: 'ns' },
    endpointId: 'e'.repeat(64),
    ticket: 'endpoint…',
    peerName: 'me@host',
    online: true,
    dataDir: '/tmp/x',
    peers: [],
    refused: [],
    documents: [
      { documentId: ROOT, url: `automerge:${ROOT}`, path: '/', type: 'dir', heads: ['r1'] },
      { documentId: 'D1', url: 'automerge:D1', path: '/places', type: 'dir', heads: ['d1'] },
      { documentId: DOC1, url: `automerge:${DOC1}`, path: '/places/home', type: 'doc', heads: ['abcdef0123456789'] },
      { documentId: DOC2, url: `automerge:${DOC2}`, path: '/notes/today', type: 'doc', heads: [] },
    ],
    ...over,
  }
}

describe('extension view-models', () => {
  it('peers: one row per peer with path, RTT, bytes and state; documents as children', () => {
    const model = new PeersModel(() => 10_000)
    let changes = 0
    model.onChange(() => changes++)
    model.update(
      snapshot({
        peers: [
          peer({ name: 'zed', endpointId: B, state: 'backoff', lastError: 'timed out', bytesIn: 0, bytesOut: 0 }),
          peer({ name: 'cli-peer', path: { kind: 'direct', remoteAddr: '127.0.0.1:4000', rttMs: 3 }, rttMs: 3, lastSeen: 5_000, docs: { [DOC1]: 'in-sync', [DOC2]: 'behind' } }),
        ],
      }),
    )
    assert.equal(changes, 1)
    const [first, second] = model.roots()
    assert.equal(first!.label, `${A.slice(0, 10)}… cli-peer`, 'connected peers first')
    assert.equal(first!.contextValue, 'tonk.peer.connected')
    // Connected is the icon; the description starts with what is worth reading in a narrow sidebar.
    assert.equal(first!.description, 'direct 127.0.0.1:4000')
    assert.match(first!.tooltip!, /\| RTT \| 3 ms \|/)
    assert.match(first!.tooltip!, /\| bytes in \/ out \| 2\.0 KB \/ 100 B \|/)
    assert.equal(first!.icon?.id, 'pass-filled')
    assert.ok(!/last seen/.test(first!.tooltip!), 'no "last seen" on a connected peer')
    assert.match(first!.tooltip!, /found by \| ticket/)
    assert.deepEqual(first!.children!.map((c) => [c.label, c.description]), [['/notes/today', 'behind'], ['/places/home', 'in sync']])
    assert.deepEqual(first!.children![1]!.command?.arguments, [{ url: `automerge:${DOC1}`, path: '/places/home', sessionId: '' }])
    assert.equal(second!.contextValue, 'tonk.peer.backoff')
    assert.equal(second!.description, 'retrying · timed out')
  })

  it('peers: offline (you), disconnected by you, reconnecting and another build say so, greyed where they are not live', () => {
    const model = new PeersModel()
    const build = '3fcf'.padEnd(64, '0')
    model.update(
      snapshot({
        peers: [
          peer({ name: 'off', state: 'offline', lastError: 'offline (you)' }),
          peer({ name: 'held', endpointId: B, state: 'disconnected' }),
          peer({ name: 'back', endpointId: C, state: 'reconnecting' }),
          peer({ name: 'other', endpointId: D, build }),
        ],
      }),
    )
    const byName = (n: string) => model.roots().find((r) => r.label.endsWith(n))!
    assert.equal(byName('off').description, 'offline (you)')
    assert.equal(byName('off').icon?.color, 'disabledForeground')
    assert.equal(byName('held').description, 'disconnected by you')
    assert.equal(byName('held').contextValue, 'tonk.peer.disconnected')
    assert.equal(byName('back').description, 'reconnecting…')
    assert.match(byName('other').description!, /^other build 3fcf…/)
    assert.match(byName('other').tooltip!, /another build of this app/)
  })

  it('peers: refused peers are rows with the reason, unless they are connected now', () => {
    const model = new PeersModel()
    const refused = { endpointId: B, code: 'E_BUNDLE', reason: 'serves another bundle', by: 'local' as const, direction: 'inbound' as const }
    model.update(snapshot({ refused: [refused, { ...refused, endpointId: A }], peers: [peer({})] }))
    const rows = model.roots()
    assert.equal(rows.length, 2)
    assert.equal(rows[1]!.contextValue, 'tonk.refused')
    assert.match(rows[1]!.description!, /serves another bundle/)
  })

  it('peers: a remote-chosen name cannot inject markdown into the tooltip', () => {
    const model = new PeersModel()
    model.update(snapshot({ peers: [peer({ name: '[click](command:evil)' })] }))
    assert.ok(!model.roots()[0]!.tooltip!.includes('[click](command:evil)'))
  })

  it('documents: the path tree, directories first, sync state per connected peer, click opens the inspector', () => {
    const model = new DocumentsModel()
    model.update(snapshot({ peers: [peer({ name: 'p', docs: { [DOC1]: 'in-sync' } }), peer({ endpointId: B, state: 'offline' })] }))
    const [root] = model.roots()
    assert.equal(root!.label, '/')
    assert.equal(root!.expanded, true)
    const roots = root!.children!
    assert.deepEqual(roots.map((r) => r.label), ['notes', 'places'])
    const notes = roots[0]!
    assert.equal(notes.id, 'dir:/notes')
    assert.match(notes.description!, /not loaded yet/, 'a parent missing from the snapshot still gets a row')
    assert.equal(notes.expanded, true, 'and opens like a loaded one (VS Code keeps the first state it sees per id)')
    const home = roots[1]!.children![0]!
    assert.equal(home.label, 'home')
    assert.equal(home.contextValue, 'tonk.doc')
    assert.equal(home.description, 'abcdef01 · in sync with 1/1')
    assert.deepEqual(home.command, { command: 'tonk.openDocumentInspector', title: 'Open Document Inspector', arguments: [{ url: `automerge:${DOC1}`, path: '/places/home', sessionId: '' }] })
    assert.equal(roots[1]!.contextValue, 'tonk.dir')
    assert.equal(notes.children![0]!.description, 'not loaded here yet')
  })

  it('documents: a loaded document shows its saved size', () => {
    const model = new DocumentsModel()
    const base = snapshot({ peers: [peer({ name: 'p', docs: { [DOC1]: 'in-sync' } })] })
    base.documents = base.documents.map((d) => (d.documentId === DOC1 ? { ...d, size: 2048 } : d))
    model.update(base)
    const home = model.roots()[0]!.children![1]!.children![0]!
    assert.equal(home.description, 'abcdef01 · 2.0 KB · in sync with 1/1')
    assert.match(home.tooltip!, /size: 2048 bytes saved/)
  })

  it('no snapshot: empty views (the welcome content shows)', () => {
    const peers = new PeersModel()
    const docs = new DocumentsModel()
    peers.update(undefined)
    docs.update(undefined)
    assert.deepEqual(peers.roots(), [])
    assert.deepEqual(docs.roots(), [])
  })

  it('status bar text: state and peer count', () => {
    assert.match(statusText(undefined, false).text, /Tonk$/)
    assert.match(statusText(undefined, true).text, /starting/)
    assert.equal(statusText(snapshot({ peers: [peer({}), peer({ endpointId: B, state: 'backoff' })] }), false).text, '$(broadcast) Tonk: 1 peer')
    assert.equal(statusText(snapshot({ online: false }), false).text, '$(debug-disconnect) Tonk: offline')
  })

  it('several bundles: one row per session with its rows below, ids kept apart, each row naming its session', () => {
    const other = snapshot({ bundle: { name: 'todo', version: '2.0.0', bundleId: '9'.repeat(64), namespace: 'ns2' }, peers: [peer({ endpointId: C, name: 'c' })] })
    const mine = snapshot({ peers: [peer({ name: 'a' }), peer({ endpointId: B, name: 'b' })] })
    const peers = new PeersModel(() => 10_000)
    peers.updateAll([{ sessionId: 'my-world-111', snapshot: mine }, { sessionId: 'todo-222', snapshot: other }], 'todo-222')
    const groups = peers.roots()
    assert.deepEqual(groups.map((g) => [g.id, g.label, g.description, g.contextValue]), [
      ['session:my-world-111', 'my-world@0.1.0', '2 peers · me@host', 'tonk.session'],
      ['session:todo-222', 'todo@2.0.0', '1 peer · me@host', 'tonk.session'],
    ])
    assert.deepEqual(groups.map((g) => (g as { sessionId?: string }).sessionId), ['my-world-111', 'todo-222'])
    const aRow = groups[0]!.children![0] as unknown as { id: string; endpointId: string; sessionId: string }
    assert.equal(aRow.id, `my-world-111/peer:${A}`, 'two bundles may list one peer: the ids differ')
    assert.equal(aRow.sessionId, 'my-world-111', 'Disconnect Peer from this row acts on its session')
    assert.equal(groups[1]!.children![0]!.id, `todo-222/peer:${C}`)
    assert.deepEqual(peers.peers().map((p) => p.endpointId), [C], 'the active session is what single-session readers see')
    const docs = new DocumentsModel()
    docs.updateAll([{ sessionId: 'my-world-111', snapshot: mine }, { sessionId: 'todo-222', snapshot: other }])
    const tree = docs.roots()
    assert.equal(tree.length, 2)
    const root = tree[1]!.children![0]!
    assert.equal(root.id, 'todo-222/dir:/')
    const home = root.children![1]!.children![0]!
    assert.equal(home.id, 'todo-222/doc:/places/home')
    assert.deepEqual(home.command?.arguments, [{ url: `automerge:${DOC1}`, path: '/places/home', sessionId: 'todo-222' }])
    docs.updateAll([{ sessionId: 'todo-222', snapshot: other }])
    assert.equal(docs.roots()[0]!.id, 'dir:/', 'one session again: no bundle rows')
    assert.equal(statusTextAll([mine, other], false).text, '$(broadcast) Tonk: 2 sessions · 3 peers')
    assert.match(statusTextAll([mine, other], false).tooltip, /my-world@0.1.0: 2 peers\ntodo@2.0.0: 1 peer/)
    assert.equal(statusTextAll([{ ...mine, online: false }, { ...other, online: false }], false).text, '$(debug-disconnect) Tonk: 2 sessions · offline')
    assert.equal(statusTextAll([mine], false).text, statusText(mine, false).text)
  })

  it('formats bytes', () => {
    assert.deepEqual([0, 1023, 1024, 5 * 1024 * 1024].map(formatBytes), ['0 B', '1023 B', '1.0 KB', '5.0 MB'])
  })
})

describe('extension sync trace lines', () => {
  it('one line per message: time, arrow, peer, name, type, document, bytes', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5, 6).getTime()
    const names = new Map([[A, 'local 1']])
    assert.equal(
      formatTraceLine({ direction: 'out', endpointId: A, peerId: 'p' as never, type: 'sync', documentId: DOC1, bytes: 120, at }, names),
      `03:04:05.006 -> ${A.slice(0, 10)} local_1 sync ${DOC1} 120 B`,
    )
    assert.equal(
      formatTraceLine({ direction: 'out', endpointId: A, peerId: 'p' as never, type: 'sync', documentId: DOC1, bytes: 120, at }, names, new Map([[DOC1, '/places/home']])),
      `03:04:05.006 -> ${A.slice(0, 10)} local_1 sync /places/home 120 B`,
      'a known document by its path',
    )
    assert.equal(
      formatTraceLine({ direction: 'in', endpointId: B, peerId: 'p' as never, type: 'ephemeral', bytes: 9, at }, names),
      `03:04:05.006 <- ${B.slice(0, 10)} - ephemeral - 9 B`,
    )
    assert.equal(
      formatRefusedLine({ endpointId: B, code: 'E_X', reason: 'nope', by: 'remote', direction: 'outbound' }, at, names),
      `03:04:05.006 !! ${B.slice(0, 10)} - refused-by (E_X): nope`,
    )
  })
})

describe('extension manifest ranges (JSON pointer → text)', () => {
  const text = '{\n  "name": "x",\n  "entrypoints": ["/a.html", "/b.html"],\n  "sync": {\n    "bundleId": "00",\n    "a~b/c": 1\n  }\n}\n'
  const slice = (s: { start: number; end: number }) => text.slice(s.start, s.end)

  it('locates values, keys, array items and escaped pointer tokens', () => {
    const loc = locateJson(text)
    assert.equal(loc.errorAt, undefined)
    assert.equal(slice(loc.nodes.get('/name')!.value), '"x"')
    assert.equal(slice(loc.nodes.get('/name')!.key!), '"name"')
    assert.equal(slice(loc.nodes.get('/entrypoints/1')!.value), '"/b.html"')
    assert.equal(slice(loc.nodes.get('/sync/a~0b~1c')!.value), '1')
  })

  it('places a missing member at its parent, a key-issue on the key, a file issue at its string, else line 1', () => {
    const loc = locateJson(text)
    const missing = rangeFor(text, loc, { pointer: '/sync/namespace' })
    assert.equal(slice(missing), '"sync"')
    assert.equal(missing.exact, false)
    assert.equal(slice(rangeFor(text, loc, { pointer: '/name', prefer: 'key' })), '"name"')
    assert.equal(slice(rangeFor(text, loc, { pointer: '/sync' })), '{', 'a multi-line object is underlined on its first line')
    assert.equal(slice(rangeFor(text, loc, { path: '/b.html' })), '"/b.html"')
    assert.equal(slice(rangeFor(text, loc, {})), '{')
    assert.equal(slice(rangeFor(text, loc, { pointer: '/nope/deeper' })), '{')
  })

  it('reports a syntax error offset and keeps what it parsed', () => {
    const bad = '{ "a": 1, "b": tru }'
    const loc = locateJson(bad)
    assert.equal(loc.errorAt, bad.indexOf('tru'))
    assert.ok(loc.nodes.has('/a'))
    const placed = placeIssues(bad, [{ code: 'E_MANIFEST_JSON', message: 'not JSON', severity: 'error' }])
    assert.equal(placed[0]!.start, bad.indexOf('tru'))
    assert.equal(placed[0]!.syntax, true)
  })

  it('agrees with JSON.parse on strings with escapes and numbers', () => {
    const tricky = '{"k\\"ey": "va\\\\lue\\"", "n": -1.5e+3, "arr": [true, null, {}], "u": "\\u00e9"}'
    const loc = locateJson(tricky)
    assert.equal(loc.errorAt, undefined)
    const parsed = JSON.parse(tricky)
    for (const [pointer, node] of loc.nodes) {
      if (pointer === '') continue
      const tokens = pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
      const expected = tokens.reduce((v, t) => v[t], parsed)
      assert.deepEqual(JSON.parse(tricky.slice(node.value.start, node.value.end)), expected, pointer)
    }
  })

  it('a link fault shows on the peer row, in its tooltip and on the traced frames it touched', () => {
    const model = new PeersModel(() => 10_000)
    const fault = { kind: 'delay' as const, label: 'delay 200ms', dropped: 0, delayed: 7 }
    model.update(snapshot({ peers: [peer({ name: 'slow', path: { kind: 'direct', remoteAddr: '127.0.0.1:4000', rttMs: 3 }, fault })] }))
    const row = model.roots()[0]!
    assert.equal(row.description, 'fault: delay 200ms · direct 127.0.0.1:4000')
    assert.match(row.tooltip!, /\| fault \| delay 200ms: 0 frames dropped, 7 delayed \|/)
    const line = formatTraceLine({ direction: 'in', endpointId: A, peerId: 'p' as never, type: 'sync', documentId: DOC1, bytes: 9, at: 0, fault: 'delayed 200ms' }, new Map())
    assert.match(line, /9 B \[delayed 200ms\]$/)
  })

  it("a peer's presence: the row says the app is open and what it shares; its session alone says nothing", () => {
    const model = new PeersModel(() => 10_000)
    const presence = [
      { kind: 'session' as const, state: {}, lastActiveAt: 1 },
      { kind: 'page' as const, state: { place: 'porto' }, lastActiveAt: 2 },
    ]
    model.update(snapshot({ peers: [peer({ name: 'ana', path: { kind: 'direct', remoteAddr: '127.0.0.1:4000', rttMs: 3 }, presence }), peer({ endpointId: B, name: 'bo', presence: [presence[0]!] })] }))
    const [ana, bo] = model.roots()
    assert.equal(ana!.description, 'app open: place porto · direct 127.0.0.1:4000')
    assert.match(ana!.tooltip!, /\| presence \| session; page \\?\{"place":"porto"\\?\} \(as the peer says\) \|/)
    assert.ok(!String(bo!.description ?? '').includes('app open'), String(bo!.description))
    model.update(snapshot({ peers: [peer({ name: 'cli', presence: [{ kind: 'session', state: { place: 'lisbon' }, lastActiveAt: 3 }] })] }))
    assert.equal(model.roots()[0]!.description, 'here: place lisbon')
  })

  it("a peer's own links (its link report) are in its tooltip, by the names we know, not in the row", () => {
    const model = new PeersModel(() => 10_000)
    const links = [
      { id: 'e'.repeat(64), path: 'direct' as const, rttMs: 2.4 },
      { id: B, path: 'relay' as const },
      { id: 'f'.repeat(64), path: 'direct' as const },
    ]
    model.update(snapshot({ peers: [peer({ name: 'ana', links }), peer({ endpointId: B, name: 'bo' })] }))
    const ana = model.roots()[0]!
    assert.match(ana.tooltip!, /\| its links \| you \(direct 2 ms\), bo \(relay\), ffffffff… \(direct\) \(as the peer says\) \|/)
    assert.ok(!String(ana.description ?? '').includes('bo'), String(ana.description))
  })
})

