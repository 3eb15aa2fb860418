// The session's peer bookkeeping without a network: how a peer was found, a disconnect held until
// reconnect (and undone by a dial), where a reconnect dials, known peers of earlier runs, and rows.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PeerBook } from '../../src/core/session/peer-book'
import type { PeerInfo } from '../../src/core/net/iroh-adapter'
import { noopLogger } from '../../src/shared/log'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const row = (endpointId: string, extra: Partial<PeerInfo> = {}): PeerInfo => ({ endpointId, state: 'connected', bytesIn: 0, bytesOut: 0, dialed: false, connections: 1, ...extra })

describe('PeerBook', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tonk-book-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('labels a peer by how it was found: a dial wins over discovery, discovery over an incoming connection', () => {
    const book = new PeerBook(join(dir, 'known-peers.json'), noopLogger)
    book.connected(row(A, { direction: 'inbound' }))
    assert.equal(book.sourceOf(A), 'incoming')
    book.found(A, 'mdns')
    assert.equal(book.sourceOf(A), 'mdns')
    book.dialed(B, 'ticket')
    book.found(B, 'mdns')
    assert.equal(book.sourceOf(B), 'ticket')
    book.forgetIfGone(B, false)
    assert.equal(book.sourceOf(B), 'incoming', 'a peer the adapter no longer lists loses its label')
  })

  it('a held peer shows disconnected until released; release dials its last direct address; known peers survive a restart', async () => {
    const file = join(dir, 'known-peers.json')
    const book = new PeerBook(file, noopLogger)
    book.connected(row(A, { name: 'alice', direction: 'outbound', path: { kind: 'direct', remoteAddr: '10.0.0.7:4444', rttMs: 1 } }))
    book.hold(A)
    assert.equal(book.rows([row(A, { state: 'dialing', name: undefined })], true, [])[0]!.state, 'disconnected')
    assert.equal(book.rows([row(A, { state: 'dialing', name: undefined })], true, [])[0]!.name, 'alice', 'named as last seen')
    const { ticket, source } = book.release(A)
    assert.equal(source, 'ticket')
    assert.ok(ticket, 'a ticket to redial')
    assert.equal(book.rows([row(A, { state: 'dialing' })], true, [])[0]!.state, 'dialing')
    await book.flushed()
    const next = new PeerBook(file, noopLogger)
    assert.deepEqual(await next.loadKnown(), [ticket], 'the next run redials the peer where it was seen')
    next.dialed(A, 'known')
    assert.deepEqual(await next.loadKnown(), [], 'not twice: a peer already being dialed is left out')
  })
})
