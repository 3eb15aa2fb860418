// A join link connecting two sessions, in a real VS Code (code-server + Chromium), as a user does it:
//   "Tonk: Start P2P Session" on the workspace; a second peer (`tonk-p2p serve`, no mDNS, so only the
//   link can bring them together) hands out its join link; "Tonk: Join from Link…" takes the pasted
//   link (a wrong one is refused in the box), the modal names the peer and what connecting reveals,
//   "Connect" → the peer is connected in the Peers view.
// Why paste: code-server has no route for vscode:// links; the pasted link goes through the same
// handler as an opened one (commands/join.ts).
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/join-link.ts   (screenshots: test-artifacts/e2e/join-link/)
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles, until } from '../poll'

export default async function joinLink(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cliJs = join(ctx.root, 'out', 'cli.cjs')
  const peerData = join(ctx.tmp, 'peer-far')
  const ticketFile = join(ctx.tmp, 'peer-far.ticket')

  await ctx.runCommand('Tonk: Start P2P Session')
  await until("the extension's session", () => findFiles(ctx.tmp, 'session.json').find((f) => !f.startsWith(peerData)), 60_000)
  await ctx.runCommand('Tonk: Focus on Peers View')

  ctx.spawn(process.execPath, [cliJs, 'serve', ctx.workspace, '--data', peerData, '--name', 'far-peer', '--bind', '127.0.0.1:0', '--no-mdns', '--ticket-file', ticketFile])
  const ticket = await until("far-peer's ticket", () => (existsSync(ticketFile) && readFileSync(ticketFile, 'utf8').trim()) || undefined, 60_000)
  const link = `vscode://tonk.tonk-p2p/join?${new URLSearchParams({ ticket, app: 'my-world' })}`
  const peers = ctx.viewPane('Peers')
  if ((await peers.locator('.monaco-list-row', { hasText: 'far-peer' }).count()) > 0) throw new Error('far-peer connected before the link was used')

  // A link that is not ours is refused in the input box.
  await ctx.runCommand('Tonk: Join from Link…')
  const input = page.locator('.quick-input-widget .quick-input-box input')
  await input.waitFor()
  await input.fill('https://example.com/join?ticket=abc')
  await page.locator('.quick-input-widget', { hasText: 'not a Tonk P2P join link' }).waitFor({ timeout: 10_000 })
  await ctx.screenshot('wrong-link-refused')
  await input.fill(link)
  await page.locator('.quick-input-widget', { hasText: 'not a Tonk P2P join link' }).waitFor({ state: 'hidden', timeout: 10_000 })
  await input.press('Enter')

  // The modal names whom it would contact; nothing is dialed before "Connect".
  await ctx.dialog('Connect to a peer from a join link?').waitFor({ timeout: 20_000 })
  await ctx.dialog('my-world').waitFor({ timeout: 5_000 })
  await ctx.screenshot('join-link-asks')
  if ((await peers.locator('.monaco-list-row', { hasText: 'far-peer' }).count()) > 0) throw new Error('far-peer connected before "Connect"')
  await ctx.dismissDialog('Connect')

  await peers.locator('.monaco-list-row', { hasText: 'far-peer' }).first().waitFor({ timeout: 60_000 })
  await ctx.screenshot('joined-peer-in-peers-view')
  ctx.log('join link: far-peer connected after "Connect"')
}
