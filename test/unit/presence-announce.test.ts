// automerge-repo's Presence re-broadcasts our state after each message from a participant it does not
// know; throttleAnnounce (src/shared/presence.ts) lets one through per gap, the last one trailing. This
// drives a real Presence over a real DocHandle (one Repo, no network) and counts the snapshots it
// broadcasts, so it also fails if automerge-repo renames the private `announce` it wraps.
import assert from 'node:assert/strict'
import { Presence, Repo } from '@automerge/automerge-repo/slim'
import { initAutomerge } from '../../src/core/util/automerge'
import { throttleAnnounce } from '../../src/shared/presence'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('presence announce throttle', () => {
  before(async () => {
    await initAutomerge()
  })

  it('turns one re-broadcast per stranger into one per gap, and still sends the last', async () => {
    const repo = new Repo({ network: [] })
    const handle = repo.create<{ x?: number }>({})
    const snapshots: number[] = []
    handle.on('ephemeral-message-outbound', ({ data }) => {
      if (new TextDecoder().decode(data).includes('snapshot')) snapshots.push(Date.now())
    })
    const presence = new Presence<Record<string, unknown>>({ handle })
    const stop = throttleAnnounce(presence, 300)
    presence.start({ initialState: { name: 'me' }, heartbeatMs: 60_000, peerTtlMs: 180_000 })
    const started = snapshots.length // the start's own snapshot
    // Ten strangers' heartbeats at once: unthrottled, ten snapshots 0.5 s later.
    for (let i = 0; i < 10; i++) {
      handle.emit('ephemeral-message', { handle, senderId: `stranger-${i}` as never, message: { __presence: { type: 'heartbeat' } } })
    }
    await sleep(900)
    assert.equal(snapshots.length - started, 1, 'one snapshot for the burst')
    // Another stranger right after: its snapshot waits for the gap, and comes.
    handle.emit('ephemeral-message', { handle, senderId: 'late' as never, message: { __presence: { type: 'heartbeat' } } })
    await sleep(1200)
    assert.equal(snapshots.length - started, 2, 'the trailing one is sent')
    stop()
    presence.stop()
    await repo.shutdown()
  })
})
