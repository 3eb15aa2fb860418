// Time travel and presence from the CLI, between separate processes over iroh: `doc history` on a peer lists the
// changes another peer made, `doc get --at` shows an old value, `doc diff` names what changed and
// `doc restore` brings an old value back as a new change that reaches the other peer; each change names
// who wrote it ("you", or the peer that says the actor is its own: the actors protocol).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess, waitForDoc } from '../helpers/peers'

const example = join(repoRoot, 'examples', 'my-world')

async function json(peer: PeerProcess, args: string[]): Promise<any> {
  const r = await peer.doc(args)
  assert.equal(r.code, 0, `doc ${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

describe('doc history, get --at, diff and restore between two peers', function () {
  this.timeout(90000)
  let dir: string
  const peers: PeerProcess[] = []

  before(() => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-history-'))
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('steps a document back two changes on the other peer, diffs, and restores', async () => {
    const bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', example, '-o', bundle])).code, 0)
    const a = await PeerProcess.start({ bundle, dataDir: join(dir, 'a'), name: 'a' })
    peers.push(a)
    const b = await PeerProcess.start({ bundle, dataDir: join(dir, 'b'), name: 'b', connect: [a.ticket] })
    peers.push(b)

    const versions = [{ title: 'one' }, { title: 'two', tags: ['x'] }, { title: 'three', tags: ['x'], done: true }]
    for (const v of versions) {
      const r = await a.doc(['put', '/notes/t', JSON.stringify(v)])
      assert.equal(r.code, 0, r.stderr)
    }
    await waitForDoc(b.options.dataDir, '/notes/t', (v) => v?.title === 'three', 20000)

    const history = await json(b, ['history', '/notes/t'])
    assert.ok(history.total >= 3, `at least three changes: ${history.total}`)
    assert.equal(history.changes.length, history.total)
    for (const c of history.changes) {
      assert.match(c.hash, /^[0-9a-f]{64}$/)
      assert.match(c.actor, /^[0-9a-f]+$/)
      assert.ok(c.ops > 0)
    }
    // a wrote every change: b names a for each (asked over the actors protocol), a says "you".
    for (const c of history.changes) assert.deepEqual(c.by, { endpointId: a.endpointId, name: 'a' }, `change ${c.index} by a`)
    const onA = await json(a, ['history', '/notes/t'])
    for (const c of onA.changes) assert.deepEqual(c.by, { you: true, name: 'you' })
    const table = await runCli(['doc', 'history', '/notes/t', '--data', b.options.dataDir])
    assert.match(table.stdout, /\bby\b/)
    assert.match(table.stdout, / a /, 'the table names the writer')
    // Two changes back from the newest: the value after the first put.
    const twoBack = history.changes[history.total - 3]
    const old = await json(b, ['get', '/notes/t', '--at', twoBack.hash])
    assert.deepEqual(old.value, versions[0])

    const diff = await json(b, ['diff', '/notes/t', '--from', twoBack.hash])
    assert.deepEqual(diff.added, ['/done', '/tags'])
    assert.deepEqual(diff.changed, ['/title'])
    assert.deepEqual(diff.removed, [])

    const paged = await json(b, ['history', '/notes/t', '--offset', '-1', '--limit', '1'])
    assert.deepEqual(paged.changes.map((c: any) => c.hash), [history.changes[history.total - 1].hash])

    const bad = await b.doc(['get', '/notes/t', '--at', 'nothex'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /E_DOC_HEADS/)
    const unknown = await b.doc(['get', '/notes/t', '--at', 'f'.repeat(64)])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /E_DOC_HEADS/)
    assert.doesNotMatch(unknown.stderr, /\n\s+at /, 'no stack trace')

    const restored = await json(b, ['restore', '/notes/t', '--at', twoBack.hash])
    assert.ok(restored.writes > 0)
    await waitForDoc(a.options.dataDir, '/notes/t', (v) => JSON.stringify(v) === JSON.stringify(versions[0]), 20000)
    const after = await json(a, ['history', '/notes/t'])
    assert.equal(after.total, history.total + 1, 'restore is one new change; history is kept')
    assert.match(after.changes[after.total - 1].message, /^restore to /)
    assert.deepEqual(after.changes[after.total - 1].by, { endpointId: b.endpointId, name: 'b' }, 'the restore is b\'s')
    // Offline (no peer running in the data dir), a still knows its own actors from actors.json.
    await a.stop()
    const offline = await runCli(['--json', 'doc', 'history', '/notes/t', '--data', a.options.dataDir])
    assert.equal(offline.code, 0, offline.stderr)
    const rows = JSON.parse(offline.stdout).changes
    assert.equal(rows[0].by?.name, 'you', 'a restart keeps which actors were ours')
    assert.equal(rows.at(-1).by, undefined, 'b is not there to ask')
  })
})

describe('presence between two headless peers', function () {
  this.timeout(60000)
  let dir: string
  const peers: PeerProcess[] = []
  before(() => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-presence-'))
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('each session is here for the other, with its name and what it shares', async () => {
    const bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', example, '-o', bundle])).code, 0)
    const a = await PeerProcess.start({ bundle, dataDir: join(dir, 'a'), name: 'alice' })
    peers.push(a)
    const b = await PeerProcess.start({ bundle, dataDir: join(dir, 'b'), name: 'bob', connect: [a.ticket] })
    peers.push(b)
    const set = await runCli(['--json', 'presence', '--data', b.options.dataDir, '--set', 'place="porto"'])
    assert.equal(set.code, 0, set.stderr)
    assert.deepEqual(JSON.parse(set.stdout).mine, { place: 'porto' })
    const seen = await a.waitFor((e) => e.event === 'presence' && e.peers.some((p: any) => p.name === 'bob' && p.state.place === 'porto'), 20000)
    const bob = seen.peers.find((p: any) => p.name === 'bob')
    assert.equal(bob.peerId, b.endpointId)
    assert.equal(bob.kind, 'session')
    const bad = await runCli(['presence', '--data', b.options.dataDir, '--set', 'peerId="x"'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /E_PRESENCE_VALUE/)
    // Stopping says goodbye: alice drops bob at once, not after the 15 s TTL.
    const left = Date.now()
    const from = a.events.length
    await b.stop()
    peers.pop()
    await a.waitFor((e) => a.events.indexOf(e) >= from && e.event === 'presence' && !e.peers.some((p: any) => p.name === 'bob'), 10000)
    assert.ok(Date.now() - left < 10000)
  })
})
