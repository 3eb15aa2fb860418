// Who may be named as a message's sender on a link: the link's peer, or for presence (ephemeral, which
// automerge-repo forwards with its origin's id) a peer further away, never us nor one of our direct peers.
import assert from 'node:assert/strict'
import type { Message } from '@automerge/automerge-repo/slim'
import { isForwardedEphemeral, messageProblem } from '../../src/core/net/messages'

const msg = (type: string, senderId: string) => ({ type, senderId, targetId: 'us', documentId: 'doc', data: new Uint8Array(1) }) as unknown as Message
const direct = new Set(['neighbour'])
const isDirect = (id: string) => direct.has(id)

describe('net: messages', () => {
  it('presence from further away may name its origin', () => {
    assert.equal(isForwardedEphemeral(msg('ephemeral', 'far-away'), 'us', isDirect), true)
  })
  it("presence naming us or a direct peer is not forwarded presence (a spoof of that peer's state)", () => {
    assert.equal(isForwardedEphemeral(msg('ephemeral', 'us'), 'us', isDirect), false)
    assert.equal(isForwardedEphemeral(msg('ephemeral', 'neighbour'), 'us', isDirect), false)
  })
  it('only presence may name another sender; long ids are refused', () => {
    assert.equal(isForwardedEphemeral(msg('sync', 'far-away'), 'us', isDirect), false)
    assert.equal(isForwardedEphemeral(msg('ephemeral', 'x'.repeat(129)), 'us', isDirect), false)
  })
  it('messageProblem names what is missing', () => {
    assert.equal(messageProblem({ type: 'sync', senderId: 'a', targetId: 'b' }), undefined)
    assert.equal(messageProblem({ type: 'sync', targetId: 'b' }), 'no senderId')
    assert.equal(messageProblem([1, 2]), 'not a map')
    assert.equal(messageProblem({ type: 'sync', senderId: 'a', targetId: 'b', data: 'text' }), 'data is not bytes')
  })
})
