#!/usr/bin/env node
// `npm run demo`: the product on the example bundle, end to end, inside a network namespace.
// Packs examples/my-world, starts two headless peers (separate processes, real iroh QUIC on loopback),
// connects B to A by ticket, writes a place on A and reads it on B, votes on B and reads it on A.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'tonk-p2p.cjs')
const work = mkdtempSync(join(tmpdir(), 'tonk-demo-'))
const bundle = join(work, 'my-world.zip')
const children = []

const run = (...args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' })
const say = (text) => console.log(`\n▸ ${text}`)

function serve(name, connect) {
  const args = [cli, '--json', 'serve', bundle, '--data', join(work, name), '--name', name, '--bind', '127.0.0.1:0']
  if (connect) args.push('--connect', connect)
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const events = []
  const waiters = []
  let buf = ''
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d
    for (let nl; (nl = buf.indexOf('\n')) >= 0; ) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (!line.trim()) continue
      const e = JSON.parse(line)
      events.push(e)
      for (const w of waiters.splice(0)) (w.pred(e) ? w.resolve(e) : waiters.push(w))
    }
  })
  const waitFor = (pred, ms = 15000) =>
    events.find(pred) ??
    new Promise((resolve, reject) => {
      waiters.push({ pred, resolve })
      setTimeout(() => reject(new Error(`${name}: timed out waiting`)), ms).unref()
    })
  return { name, child, waitFor, events, data: join(work, name) }
}

try {
  say('pack examples/my-world')
  console.log(run('pack', join(root, 'examples', 'my-world'), '-o', bundle).trimEnd())

  say('start peer A and peer B (B dials A with its ticket)')
  const a = serve('alice')
  const readyA = await a.waitFor((e) => e.event === 'ready')
  console.log(`A ${readyA.endpointId.slice(0, 10)}… ticket ${readyA.ticket.slice(0, 40)}…`)
  const b = serve('bob', readyA.ticket)
  const readyB = await b.waitFor((e) => e.event === 'ready')
  console.log(`B ${readyB.endpointId.slice(0, 10)}…`)
  const t0 = performance.now()
  await Promise.all([a.waitFor((e) => e.event === 'peer-connected'), b.waitFor((e) => e.event === 'peer-connected')])
  console.log(`connected in ${(performance.now() - t0).toFixed(0)} ms`)

  say('A adds a place; B reads it')
  const place = { places: { lisbon: { name: 'Lisbon', note: 'light on the Tagus', x: 171, y: 51, addedBy: 'alice', addedAt: Date.now(), votes: {} } } }
  const t1 = performance.now()
  run('doc', 'put', '/my-world/places', JSON.stringify(place), '--data', a.data)
  let seen
  for (let i = 0; i < 100; i++) {
    seen = JSON.parse(run('--json', 'doc', 'get', '/my-world/places', '--data', b.data).trim() || '{}').value
    if (seen?.places?.lisbon) break
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!seen?.places?.lisbon) throw new Error('B never saw the place')
  console.log(`B sees "${seen.places.lisbon.name}" ${(performance.now() - t1).toFixed(0)} ms after A wrote it (incl. two CLI process starts)`)

  say('B votes for it; A sees the vote')
  const bob = readyB.endpointId
  const voted = { places: { lisbon: { ...seen.places.lisbon, votes: { [bob]: true } } } }
  run('doc', 'put', '/my-world/places', JSON.stringify(voted), '--data', b.data)
  const voteSeen = await a.waitFor((e) => e.event === 'doc-changed' && e.path === '/my-world/places' && e.at > new Date(Date.now() - 5000).toISOString()).catch((err) => { console.log(JSON.stringify(a.events, null, 1).slice(0, 4000)); throw err })
  const back = JSON.parse(run('--json', 'doc', 'get', '/my-world/places', '--data', a.data)).value
  console.log(`A sees ${Object.keys(back.places.lisbon.votes).length} vote(s) on Lisbon (change event at ${voteSeen.at})`)

  say('the root directory, as A has it')
  console.log(run('doc', 'ls', '/', '--data', a.data).trimEnd())
  console.log(run('doc', 'ls', '/my-world', '--data', a.data).trimEnd())
  console.log('\nDone. Run it in VS Code: "Tonk: Start P2P Session" on examples/my-world (see README).')
} catch (err) {
  console.error(`demo failed: ${err.stack ?? err}`)
  process.exitCode = 1
} finally {
  for (const c of children) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  rmSync(work, { recursive: true, force: true })
}
