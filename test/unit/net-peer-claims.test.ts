// The claim guard's rules, on a bare adapter: messages count only under ids the adapter holds, except
// presence (ephemeral) forwarded from further away, which keeps its origin's id unless that id is held
// by a direct peer or by us (a spoof of a neighbour).
import assert from 'node:assert/strict'
import { NetworkAdapter, type Message, type PeerId } from '@automerge/automerge-repo/slim'
import { PeerIdClaims } from '../../src/core/net/peer-claims'

class BareAdapter extends NetworkAdapter {
  isReady = () => true
  whenReady = () => Promise.resolve()
  connect() {}
  send() {}
  disconnect() {}
}

const msg = (type: string, senderId: string): Message => ({ type, senderId, targetId: 'me', documentId: 'doc', data: new Uint8Array() }) as unknown as Message

describe('peer id claims: which messages reach the Repo', () => {
  it('passes messages of held ids and forwarded presence of unclaimed ids; drops the rest', () => {
    const claims = new PeerIdClaims()
    claims.claim('me', 'self')
    const iroh = new BareAdapter()
    const page = new BareAdapter()
    claims.guard(iroh, 'iroh')
    const guarded = claims.guard(page, 'preview')
    const seen: string[] = []
    guarded.on('message', (m) => seen.push(`${m.type}:${m.senderId}`))
    iroh.emit('peer-candidate', { peerId: 'neighbour' as PeerId, peerMetadata: {} })
    page.emit('peer-candidate', { peerId: 'page' as PeerId, peerMetadata: {} })

    page.emit('message', msg('sync', 'page'))
    page.emit('message', msg('ephemeral', 'far-away-page')) // forwarded presence: unclaimed origin
    page.emit('message', msg('sync', 'far-away-page')) // only presence may name another sender
    page.emit('message', msg('ephemeral', 'neighbour')) // a direct iroh peer's id: a spoof
    page.emit('message', msg('ephemeral', 'me')) // our own id
    assert.deepEqual(seen, ['sync:page', 'ephemeral:far-away-page'])
  })
})
