// Who wrote a change: this peer's own actors (kept across restarts, bounded) and what a peer may send
// us in an actors frame (bounded, checked). The exchange itself runs between processes in
// test/integration/cli-history-presence.test.ts.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_OWN_ACTORS, OwnActors } from '../../src/core/history/own-actors'
import { MAX_ACTORS_PER_ASK, readActorList } from '../../src/core/protocols/actors/actor-claims'

const actor = (i: number) => i.toString(16).padStart(32, '0')

describe('actor claims', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tonk-actors-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('reads at most 64 well-formed actor ids from a frame, once each', () => {
    const many = Array.from({ length: 1000 }, (_, i) => actor(i))
    assert.equal(readActorList(many).length, MAX_ACTORS_PER_ASK)
    assert.deepEqual(readActorList([actor(1), actor(1), 'XYZ', 'abc', 42, null, 'a'.repeat(130), {}]), [actor(1)])
    assert.deepEqual(readActorList('not a list'), [])
    assert.deepEqual(readActorList(undefined), [])
  })

  it('keeps our own actors across a restart, the newest 4,096, and ignores a damaged file', async () => {
    const file = join(dir, 'actors.json')
    const own = new OwnActors(file)
    await own.load()
    for (let i = 0; i < MAX_OWN_ACTORS + 10; i++) own.record(actor(i))
    own.record('NOT-HEX')
    assert.equal(own.size, MAX_OWN_ACTORS)
    assert.ok(!own.has(actor(0)) && own.has(actor(MAX_OWN_ACTORS + 9)), 'the oldest go first')
    await own.flush()
    const again = new OwnActors(file)
    await again.load()
    assert.equal(again.size, MAX_OWN_ACTORS)
    assert.ok(again.has(actor(MAX_OWN_ACTORS + 9)))
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).length, MAX_OWN_ACTORS)
    writeFileSync(file, '{"not": "a list"')
    const damaged = new OwnActors(file)
    await damaged.load()
    assert.equal(damaged.size, 0)
  })
})
