import assert from 'node:assert/strict'
import { checkHello, open, seal, sealContext, type HelloMessage } from '../../src/core/net/handshake'
import { TONK_SYNC_ALPN } from '../../src/core/net/endpoint'
import { messageProblem, parseCloseReason } from '../../src/core/net/iroh-adapter'
import { helloMessage, THEM, US } from '../helpers/net-fixtures'

const hello = helloMessage

describe('net/handshake checkHello', () => {
  it('accepts a matching hello', () => {
    const r = checkHello(hello(), hello({ peerId: 'peer-b', protocolVersion: '1.0.0' }), US, THEM)
    assert.equal(r.ok, true)
  })

  it('accepts another build of the same app (an edited folder)', () => {
    const r = checkHello(hello(), hello({ bundleId: '9c1e' + '0'.repeat(60) }), US, THEM)
    assert.equal(r.ok, true)
  })

  it('refuses another build when either side sets strictBuild, explained from both points of view', () => {
    const other = '9c1e' + '0'.repeat(60)
    const r = checkHello(hello({ strictBuild: true }), hello({ bundleId: other }), US, THEM)
    assert.equal(r.ok, false)
    if (r.ok) return
    assert.equal(r.code, 'E_BUNDLE_MISMATCH')
    assert.equal(r.reason, 'peer 3f2a9c1e… serves build 9c1e0000… of this app but this session serves 71abffff…, and this session syncs only with its own build (sync.strictBuild)')
    assert.equal(r.remoteReason, 'peer 1111aaaa… serves build 71abffff… of this app but this session serves 9c1e0000…, and peer 1111aaaa… syncs only with its own build (sync.strictBuild)')
    const theirs = checkHello(hello(), hello({ bundleId: other, strictBuild: true }), US, THEM)
    assert.equal(!theirs.ok && theirs.code, 'E_BUNDLE_MISMATCH')
    assert.equal(checkHello(hello({ strictBuild: true }), hello({ strictBuild: true }), US, THEM).ok, true, 'the same build always syncs')
  })

  it('refuses another namespace', () => {
    const r = checkHello(hello(), hello({ namespace: 'staging' }), US, THEM)
    assert.equal(!r.ok && r.code, 'E_NAMESPACE_MISMATCH')
  })

  it('checks both version ranges', () => {
    // They are too old for us.
    const old = checkHello(hello({ minCompatibleVersion: '1.1.0' }), hello({ protocolVersion: '1.0.5' }), US, THEM)
    assert.equal(!old.ok && old.code, 'E_PROTOCOL_INCOMPATIBLE')
    assert.match(!old.ok ? old.reason : '', /speaks protocol 1\.0\.5 .* but this session speaks protocol 1\.2\.0/)
    // We are too old for them.
    const newer = checkHello(hello(), hello({ protocolVersion: '2.0.0', minCompatibleVersion: '2.0.0' }), US, THEM)
    assert.equal(!newer.ok && newer.code, 'E_PROTOCOL_INCOMPATIBLE')
  })

  it('calls anything else malformed, without throwing', () => {
    for (const bad of [null, 7, 'x', [], { type: 'hello' }, hello({ v: 1 as 2 }), hello({ protocolVersion: 'one' }), { ...hello(), peerId: 5 }]) {
      const r = checkHello(hello(), bad, US, THEM)
      assert.equal(!r.ok && r.code, 'E_HANDSHAKE_MALFORMED', JSON.stringify(bad))
    }
  })
})

describe('net/handshake sealed hellos', () => {
  const key = new Uint8Array(32).fill(1)
  const ctx = (sender: 'dialer' | 'acceptor', dialer = US, acceptor = THEM) => sealContext(TONK_SYNC_ALPN, dialer, acceptor, sender)

  it('opens with the same key and context, hiding every field of the hello', () => {
    const frame = seal(key, ctx('dialer'), hello({ peerName: 'alice-laptop' }))
    assert.deepEqual(open(key, ctx('dialer'), frame as unknown as Record<string, unknown>), hello({ peerName: 'alice-laptop' }))
    const bytes = Buffer.from(frame.c).toString('latin1')
    for (const secret of ['alice-laptop', '71ab', 'default', 'peer-a']) assert.ok(!bytes.includes(secret), secret)
    assert.notDeepEqual(seal(key, ctx('dialer'), hello()).n, seal(key, ctx('dialer'), hello()).n, 'a fresh nonce per frame')
  })

  it('refuses another key, a reflected frame (other role), another pair of endpoints, another ALPN, a tampered byte', () => {
    const frame = seal(key, ctx('dialer'), hello()) as unknown as Record<string, unknown>
    assert.equal(open(new Uint8Array(32).fill(2), ctx('dialer'), frame), undefined)
    assert.equal(open(key, ctx('acceptor'), frame), undefined)
    assert.equal(open(key, ctx('dialer', THEM, US), frame), undefined)
    assert.equal(open(key, sealContext('tonk/sync/9', US, THEM, 'dialer'), frame), undefined)
    const c = new Uint8Array(frame.c as Uint8Array)
    c[3]! ^= 1
    assert.equal(open(key, ctx('dialer'), { ...frame, c }), undefined)
    for (const bad of [{}, { type: 'sealed', v: 2 }, { ...frame, n: new Uint8Array(3) }, { ...frame, v: 1 }, { ...frame, c: 'x' }]) {
      assert.equal(open(key, ctx('dialer'), bad), undefined)
    }
  })
})

describe('net/iroh-adapter helpers', () => {
  it('recognises automerge-repo messages', () => {
    assert.equal(messageProblem({ type: 'sync', senderId: 'a', targetId: 'b', data: new Uint8Array(1), documentId: 'd' }), undefined)
    assert.equal(messageProblem({ type: 'sync', senderId: 'a' }), 'no targetId')
    assert.equal(messageProblem([1]), 'not a map')
    assert.equal(messageProblem({ type: 'sync', senderId: 'a', targetId: 'b', data: 'x' }), 'data is not bytes')
  })

  it('reads iroh close reasons', () => {
    assert.deepEqual(parseCloseReason('closed by peer: E_BUNDLE_MISMATCH (code 1)'), { code: 'E_BUNDLE_MISMATCH', text: 'E_BUNDLE_MISMATCH' })
    assert.deepEqual(parseCloseReason('closed by peer: offline (code 3)'), { code: 'offline', text: 'offline' })
    assert.equal(parseCloseReason('timed out'), undefined)
    assert.equal(parseCloseReason(null), undefined)
  })
})
