// A bundle's own bootstrap peers (sync.discovery.bootstrapPeers, chosen by whoever wrote the manifest)
// are dialed only after the user allows them, once per bundle and value:
//   a headless CLI peer (no mDNS, no peer exchange: it can only be reached by being dialed) is written
//   into the workspace's tonk.json as a bootstrap peer → Start P2P Session asks (the dialog names the
//   peer and its address) → "Not now": the peer is not dialed → Start again asks again → "Allow": the
//   peer connects → Start again: no question.
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/bundle-hints.ts   (screenshots: test-artifacts/e2e/bundle-hints/)
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(250)
  }
}

export default async function bundleHints(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const peerData = join(ctx.tmp, 'peer-b')
  const ticketFile = join(ctx.tmp, 'peer-b.ticket')
  // A fixed UDP port, so the ticket written into the manifest stays valid when the peer restarts.
  const port = await new Promise<number>((resolve) => {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1', () => {
      const p = socket.address().port
      socket.close(() => resolve(p))
    })
  })
  const serve = async (): Promise<{ child: ChildProcess; ticket: string }> => {
    rmSync(ticketFile, { force: true })
    const child = ctx.spawn(process.execPath, [join(ctx.root, 'out', 'cli.cjs'), 'serve', ctx.workspace, '--data', peerData, '--name', 'peer-b',
      '--bind', `127.0.0.1:${port}`, '--ticket-file', ticketFile, '--no-mdns', '--no-exchange'])
    const ticket = await until('peer-b ticket', () => existsSync(ticketFile) && readFileSync(ticketFile, 'utf8').trim())
    return { child, ticket }
  }
  const stop = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('close', () => resolve())
      child.kill('SIGTERM')
    })

  // The peer must serve the very bundle that names it: learn its ticket (identity and port stay the
  // same in its data dir), write it into tonk.json, and serve the edited bundle.
  const first = await serve()
  const idOf = () => (JSON.parse(readFileSync(join(peerData, 'session.json'), 'utf8')) as { endpointId: string }).endpointId
  const firstId = idOf()
  await stop(first.child)
  const manifestPath = join(ctx.workspace, 'tonk.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  manifest.sync.discovery.bootstrapPeers = [first.ticket]
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n')
  const peer = await serve()
  // Same identity and IPv4 port (the ticket's other addresses, e.g. an IPv6 socket, may change).
  const endpointId = idOf()
  assert.equal(endpointId, firstId, 'peer-b kept its identity')

  await ctx.runCommand('Tonk: Focus on Peers View')
  const peers = ctx.viewPane('Peers')
  const peerRow = peers.locator('.monaco-list-row', { hasText: 'peer-b' })
  const question = ctx.dialog(/asks to connect/)

  // 1. Asked; "Not now": not dialed.
  await ctx.runCommand('Tonk: Start P2P Session')
  await question.waitFor({ timeout: 60_000 })
  const text = await question.innerText()
  assert.ok(text.includes(endpointId.slice(0, 10)), `the dialog names the peer: ${text}`)
  assert.match(text, /127\.0\.0\.1:\d+/, 'and its address')
  await ctx.screenshot('asked')
  await ctx.dismissDialog('Not now')
  await ctx.notification(/is running as/).waitFor({ timeout: 60_000 })
  await sleep(4000)
  assert.equal(await peerRow.count(), 0, 'peer-b was dialed although the user said Not now')
  await ctx.screenshot('not-now-no-peer')

  // 2. A restart asks again; "Allow": connected.
  await ctx.runCommand('Tonk: Start P2P Session')
  await question.waitFor({ timeout: 60_000 })
  await ctx.dismissDialog('Allow')
  await peerRow.first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('allowed-peer-connected')

  // 3. Remembered: the next start does not ask.
  const running = ctx.notification(/is running as/)
  for (const n of await running.all()) await n.locator('.codicon-notifications-clear, .codicon-close').first().click().catch(() => {})
  await ctx.runCommand('Tonk: Start P2P Session')
  await running.first().waitFor({ timeout: 60_000 })
  await sleep(3000)
  assert.equal(await question.count(), 0, 'asked again after Allow')
  await peerRow.first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('remembered')
  await stop(peer.child)
}
