// The presence relay without sockets: a forward of another peer's ephemeral message is skipped only
// for a target that has itself sent us that origin's message (or a later one), which automerge-repo's
// de-duplication would drop anyway; our own messages and every other type pass at once.
import assert from 'node:assert/strict'
import type { Message } from '@automerge/automerge-repo/slim'
import { cbor } from '@automerge/automerge-repo/slim'
import { beatMessage, digestFrame, EphemeralRelay, HEARTBEAT_DATA, isHeartbeat, MAX_DIGEST_BEATS, originOf, readDigest, type Beat } from '../../src/core/net/ephemeral-relay'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function ephemeral(senderId: string, targetId: string, count: number, sessionId = 's1'): Message {
  return { type: 'ephemeral', senderId, targetId, count, sessionId, documentId: 'doc', data: new Uint8Array([1]) } as unknown as Message
}

function heartbeat(senderId: string, targetId: string, count: number, sessionId = 's1'): Message {
  return { ...ephemeral(senderId, targetId, count, sessionId), data: new Uint8Array(cbor.encode({ __presence: { type: 'heartbeat' } })) } as unknown as Message
}

describe('EphemeralRelay', () => {
  it('an origin is senderId:sessionId of an ephemeral message; none for overlong ids or no count (the origin budget refuses those)', () => {
    assert.equal(originOf(ephemeral('p', 'me', 1, 's1')), 'p:s1')
    assert.equal(originOf(ephemeral('p', 'me', 1, 'x'.repeat(65))), undefined)
    assert.equal(originOf(ephemeral('p'.repeat(129), 'me', 1)), undefined)
    assert.equal(originOf({ ...ephemeral('p', 'me', 1), count: undefined } as unknown as Message), undefined)
    assert.equal(originOf({ type: 'sync', senderId: 'p', targetId: 'me', documentId: 'doc', data: new Uint8Array() } as unknown as Message), undefined)
  })

  it('sends our own messages and non-ephemeral ones at once', () => {
    const relay = new EphemeralRelay({ holdMs: 50 }, () => 'me')
    const sent: string[] = []
    relay.route(ephemeral('me', 'a', 1), () => sent.push('own'))
    relay.route({ type: 'sync', senderId: 'x', targetId: 'a', documentId: 'doc', data: new Uint8Array() } as unknown as Message, () => sent.push('sync'))
    assert.deepEqual(sent, ['own', 'sync'])
    relay.clear()
  })

  it('skips a forward to a peer that sent us the same or a later count of that origin, sends the rest', () => {
    const relay = new EphemeralRelay({ holdMs: 0 }, () => 'me')
    relay.heardFrom('a', ephemeral('origin', 'me', 5))
    const sent: string[] = []
    relay.route(ephemeral('origin', 'a', 5), () => sent.push('a@5')) // a has 5: skipped
    relay.route(ephemeral('origin', 'a', 4), () => sent.push('a@4')) // a has a later one: skipped
    relay.route(ephemeral('origin', 'a', 6), () => sent.push('a@6')) // newer than what a sent: sent
    relay.route(ephemeral('origin', 'b', 5), () => sent.push('b@5')) // b never sent it: sent
    relay.route(ephemeral('origin', 'a', 5, 's2'), () => sent.push('a@5/s2')) // another session of origin: sent
    assert.deepEqual(sent, ['a@6', 'b@5', 'a@5/s2'])
    assert.equal(relay.skipped, 2)
  })

  it('holds forwards so a copy arriving meanwhile cancels them, and sends the others after the hold', async () => {
    const relay = new EphemeralRelay({ holdMs: 20 }, () => 'me')
    const sent: string[] = []
    relay.route(ephemeral('origin', 'a', 1), () => sent.push('a'))
    relay.route(ephemeral('origin', 'b', 1), () => sent.push('b'))
    assert.deepEqual(sent, [])
    relay.heardFrom('b', ephemeral('origin', 'me', 1)) // b's copy arrives while ours waits
    await sleep(60)
    assert.deepEqual(sent, ['a'])
  })

  it('forgets what a peer that left had heard, drops held forwards when cleared, and bounds origins', async () => {
    const relay = new EphemeralRelay({ holdMs: 0, maxOrigins: 2 }, () => 'me')
    relay.heardFrom('a', ephemeral('o1', 'me', 1))
    relay.peerLeft('a')
    const sent: string[] = []
    relay.route(ephemeral('o1', 'a', 1), () => sent.push('a after it left'))
    // Three origins heard with room for two: the oldest (o1) is forgotten, so its forward is sent.
    relay.heardFrom('b', ephemeral('o1', 'me', 1))
    relay.heardFrom('b', ephemeral('o2', 'me', 1))
    relay.heardFrom('b', ephemeral('o3', 'me', 1))
    relay.route(ephemeral('o1', 'b', 1), () => sent.push('o1 forgotten'))
    relay.route(ephemeral('o3', 'b', 1), () => sent.push('o3 known'))
    assert.deepEqual(sent, ['a after it left', 'o1 forgotten'])

    const held = new EphemeralRelay({ holdMs: 20 }, () => 'me')
    held.route(ephemeral('o', 'a', 1), () => sent.push('held'))
    held.clear()
    await sleep(50)
    assert.ok(!sent.includes('held'))
  })

  it('remembers nothing of a message with an overlong session id (what a key costs is bounded)', () => {
    const relay = new EphemeralRelay({ holdMs: 0 }, () => 'me')
    const long = 'x'.repeat(100_000)
    relay.heardFrom('a', ephemeral('o', 'me', 1, long))
    const sent: string[] = []
    relay.route(ephemeral('o', 'a', 1, long), () => sent.push('sent as automerge-repo asked'))
    assert.deepEqual(sent, ['sent as automerge-repo asked'])
  })

  it('knows a heartbeat by its bytes (as automerge-repo encodes it), and nothing else as one', () => {
    assert.ok(isHeartbeat(heartbeat('o', 'a', 1)))
    assert.equal(HEARTBEAT_DATA.length, heartbeat('o', 'a', 1).data!.length)
    assert.ok(!isHeartbeat(ephemeral('o', 'a', 1)))
    const update = { ...ephemeral('o', 'a', 1), data: new Uint8Array(cbor.encode({ __presence: { type: 'update', channel: 'c', value: 1 } })) } as unknown as Message
    assert.ok(!isHeartbeat(update))
  })

  it('sends forwarded heartbeats in one digest per peer and period: the latest of each origin, none its target sent us', async () => {
    const digests: Array<[string, Beat[]]> = []
    const relay = new EphemeralRelay({ holdMs: 0, digestMs: 30, sendDigest: (t, beats) => (digests.push([t, beats]), true) }, () => 'me')
    const sent: string[] = []
    relay.route(heartbeat('o1', 'a', 1), () => sent.push('o1@1 one by one'))
    relay.route(heartbeat('o1', 'a', 2), () => sent.push('o1@2 one by one'))
    relay.route(heartbeat('o2', 'a', 7), () => sent.push('o2 one by one'))
    relay.route(heartbeat('o1', 'b', 2), () => sent.push('o1 to b one by one'))
    relay.route(heartbeat('me', 'a', 3), () => sent.push('our own at once'))
    relay.route(ephemeral('o1', 'a', 3), () => sent.push('an update at once'))
    relay.heardFrom('b', heartbeat('o1', 'me', 2)) // b sends us o1@2 meanwhile: nothing left for b
    assert.deepEqual(sent, ['our own at once', 'an update at once'])
    await sleep(80)
    assert.deepEqual(digests, [['a', [{ senderId: 'o1', sessionId: 's1', count: 2, documentId: 'doc' }, { senderId: 'o2', sessionId: 's1', count: 7, documentId: 'doc' }]]])
    assert.equal(relay.skipped, 1)
    assert.deepEqual(sent, ['our own at once', 'an update at once'])
    relay.clear()
  })

  it('sends heartbeats one by one to a peer that takes no digest, and drops waiting ones when cleared', async () => {
    const relay = new EphemeralRelay({ holdMs: 0, digestMs: 20, sendDigest: () => false }, () => 'me')
    const sent: string[] = []
    relay.route(heartbeat('o1', 'old', 1), () => sent.push('o1'))
    relay.route(heartbeat('o2', 'old', 1), () => sent.push('o2'))
    await sleep(60)
    assert.deepEqual(sent, ['o1', 'o2'])
    relay.route(heartbeat('o3', 'old', 1), () => sent.push('o3'))
    relay.clear()
    await sleep(60)
    assert.deepEqual(sent, ['o1', 'o2'])
  })

  it('splits the heartbeats of more origins than a digest may carry into several digests', async () => {
    const sizes: number[] = []
    const relay = new EphemeralRelay({ holdMs: 0, digestMs: 10, sendDigest: (_t, beats) => (sizes.push(beats.length), true) }, () => 'me')
    for (let i = 0; i < MAX_DIGEST_BEATS + 5; i++) relay.route(heartbeat(`o${i}`, 'a', 1), () => assert.fail('sent one by one'))
    await sleep(40)
    assert.deepEqual(sizes, [MAX_DIGEST_BEATS, 5])
  })

  it('reads back a digest it wrote; a beat stands for the heartbeat it names', () => {
    const beats: Beat[] = [{ senderId: 'o1', sessionId: 's1', count: 3, documentId: 'doc' }]
    const frame = cbor.decode(cbor.encode(digestFrame(beats))) as Record<string, unknown>
    assert.deepEqual(readDigest(frame), { beats, entries: 1 })
    const message = beatMessage(beats[0]!, 'me')
    assert.ok(isHeartbeat(message))
    assert.equal(originOf(message), 'o1:s1')
    assert.equal(message.targetId, 'me')
  })

  it('a digest keeps only well-formed beats, counts every entry, and is no digest past its bound or without a list', () => {
    const ok = ['o', 's', 1, 'doc']
    const bad = [['o', 's', -1, 'doc'], ['o', 's', 1.5, 'doc'], ['o', 'x'.repeat(65), 1, 'doc'], ['o', 's', 1, 'd'.repeat(65)], ['p'.repeat(129), 's', 1, 'doc'], [1, 's', 1, 'doc'], ['o', 's', 1], 'junk']
    assert.deepEqual(readDigest({ beats: [ok, ...bad] }), { beats: [{ senderId: 'o', sessionId: 's', count: 1, documentId: 'doc' }], entries: 1 + bad.length })
    assert.equal(readDigest({ beats: Array.from({ length: MAX_DIGEST_BEATS + 1 }, () => ok) }), undefined)
    assert.equal(readDigest({ beats: 'many' }), undefined)
    assert.equal(readDigest({}), undefined)
  })
})
