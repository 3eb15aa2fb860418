// The session from the browser, as a user drives it: "Tonk: Start P2P Session" from the palette, the
// status bar, Connect to Peer… with the ticket of a headless CLI peer (a bad ticket first: the input box
// says why), the peer in the Peers view, its document in the Documents view, the sync trace document,
// Stop. With --vsix it checks the packaged extension (npm run test:e2e:vsix).
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export default async function sessionUi(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cli = join(ctx.root, 'out', 'cli.cjs')
  const statusItem = (text: string | RegExp) => page.locator('.statusbar-item', { hasText: text })

  // 1. Start the session from the palette (one bundle in the workspace: no picker).
  await statusItem(/^Tonk$|Tonk/).first().waitFor({ timeout: 30_000 }) // activated on workspaceContains:tonk.json
  await ctx.runCommand('Tonk: Start P2P Session')
  await ctx.notification(/is running as/).waitFor({ timeout: 60_000 })
  await statusItem('Tonk: 0 peers').waitFor({ timeout: 30_000 })
  await ctx.screenshot('session-started')

  // 2. The status bar item opens the Peers view, which invites to connect.
  await statusItem('Tonk: 0 peers').click()
  const peers = ctx.viewPane('Peers')
  await peers.getByText('No peers yet.').waitFor({ timeout: 15_000 })
  await ctx.screenshot('peers-view-empty')

  // 3. A headless CLI peer, connected from the editor with its ticket.
  const ticketFile = join(ctx.tmp, 'peer-b.ticket')
  const peerData = join(ctx.tmp, 'peer-b')
  ctx.spawn(process.execPath, [cli, 'serve', ctx.workspace, '--data', peerData, '--name', 'peer-b', '--bind', '127.0.0.1:0', '--ticket-file', ticketFile])
  await until('the CLI peer ticket', () => existsSync(ticketFile) && readFileSync(ticketFile, 'utf8').trim().length > 0)
  const ticket = readFileSync(ticketFile, 'utf8').trim()

  await ctx.runCommand('Tonk: Connect to Peer…')
  const input = page.locator('.quick-input-widget .quick-input-box input')
  await input.waitFor()
  await input.fill('endpoint-not-a-ticket')
  await page.locator('.quick-input-widget .quick-input-message', { hasText: /ticket/ }).waitFor({ timeout: 10_000 })
  await ctx.screenshot('connect-bad-ticket')
  await input.fill(ticket)
  await page.keyboard.press('Enter')
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' })

  const row = peers.locator('.monaco-list-row', { hasText: 'peer-b' })
  await row.waitFor({ timeout: 30_000 })
  // Connected is the row's icon; its description starts with the path.
  await until('peer-b connected', async () => (await row.locator('.codicon-pass-filled').count()) > 0 && /direct/.test(await row.innerText()))
  await statusItem('Tonk: 1 peer').waitFor({ timeout: 15_000 })
  await ctx.screenshot('peers-view-with-cli-peer')

  // 4. A document written on the CLI peer shows up in the Documents view.
  const put = ctx.spawn(process.execPath, [cli, 'doc', 'put', '/e2e/hello', JSON.stringify({ from: 'peer-b' }), '--data', peerData])
  const code = await new Promise<number | null>((r) => put.on('close', r))
  assert.equal(code, 0, 'tonk-p2p doc put')
  const documents = ctx.viewPane('Documents')
  await ctx.runCommand('Tonk: Focus on Documents View') // expands the pane if it is collapsed
  const dir = documents.locator('.monaco-list-row', { hasText: 'e2e' }).first()
  await dir.waitFor({ timeout: 30_000 })
  const hello = documents.locator('.monaco-list-row', { hasText: 'hello' }).first()
  await until('/e2e/hello in the Documents view', async () => {
    if (await hello.isVisible()) return true
    // Directories open by default; a user may have closed it, so open it as a user would.
    if ((await dir.getAttribute('aria-expanded')) === 'false') await dir.click()
    return false
  })
  await ctx.screenshot('documents-view')

  // 5. The sync trace, highlighted as tonk-trace.
  await ctx.runCommand('Tonk: Show Sync Trace')
  const editor = page.locator('.editor-instance .monaco-editor .view-lines')
  await editor.getByText('Tonk sync trace').first().waitFor({ timeout: 15_000 })
  await until('trace lines with arrows', async () => /(->|<-)/.test(await editor.innerText()))
  await ctx.screenshot('sync-trace')

  // 6. Stop: the views go back to their welcome content.
  await ctx.runCommand('Tonk: Stop P2P Session')
  await peers.getByText('No P2P session is running.').waitFor({ timeout: 30_000 })
  await until('status bar without a session', async () => (await statusItem(/Tonk: \d+ peer/).count()) === 0)
  await ctx.screenshot('session-stopped')
}
