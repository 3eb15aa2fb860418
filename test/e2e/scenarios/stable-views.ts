// Views stay still under the mouse (issue 13): with two local peers connected, a peer row's tooltip
// stays open for 5 s (the row is not replaced while RTT and bytes change underneath), and 20 quick
// clicks on a document row that a peer keeps changing open the inspector every time, with no
// "command not found".
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/stable-views.ts   (screenshots: test-artifacts/e2e/stable-views/)
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles, until } from '../poll'

export default async function stableViews(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cli = join(ctx.root, 'out', 'cli.cjs')
  // Debug lines in the extension's log say which rows each refresh redrew.
  mkdirSync(join(ctx.workspace, '.vscode'), { recursive: true })
  writeFileSync(join(ctx.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'tonk.logLevel': 'debug' }))

  await ctx.runCommand('Tonk: Start P2P Session')
  await ctx.notification(/is running as/).waitFor({ timeout: 60_000 })
  await ctx.commandPalette('Tonk: Start Local Peers', { run: true })
  const countInput = page.locator('.quick-input-widget .quick-input-box input')
  await countInput.waitFor()
  await countInput.fill('2')
  await page.keyboard.press('Enter')

  await ctx.runCommand('Tonk: Focus on Peers View')
  const peers = ctx.viewPane('Peers')
  const connectedRows = peers.locator('.monaco-list-row:has(.codicon-pass-filled)')
  await until('two local peers connected', async () => (await connectedRows.count()) >= 2, 90_000)

  // 1. Hover a peer row: the tooltip appears and is still there 5 s later.
  const row = connectedRows.first()
  await row.hover()
  const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'found by' }).first()
  await hover.waitFor({ state: 'visible', timeout: 15_000 })
  await ctx.screenshot('peer-tooltip-open')
  const openedAt = Date.now()
  while (Date.now() - openedAt < 5_000) {
    assert.ok(await hover.isVisible(), `the tooltip closed after ${Date.now() - openedAt} ms`)
    await page.waitForTimeout(250)
  }
  await ctx.screenshot('peer-tooltip-after-5s')
  await page.mouse.move(900, 600)

  // Traffic while we click: a local peer writes every 300 ms, so the document's row keeps changing.
  const localData = await until('a local peer\'s data dir', () => findFiles(ctx.tmp, 'session.json').find((f) => f.includes('local-peers')), 60_000)
  const writer = ctx.spawn(process.execPath, ['-e', `
    const { execFileSync } = require('node:child_process')
    let n = 0
    setInterval(() => { try { execFileSync(process.execPath, [${JSON.stringify(cli)}, 'doc', 'put', '/busy/counter', JSON.stringify({ n: ++n }), '--data', ${JSON.stringify(join(localData, '..'))}]) } catch {} }, 300)
  `])

  // 2. Twenty quick clicks on a document row: the inspector opens each time, no "command not found".
  const documents = ctx.viewPane('Documents')
  await ctx.runCommand('Tonk: Focus on Documents View')
  const busy = documents.locator('.monaco-list-row', { hasText: 'busy' }).first()
  await busy.waitFor({ timeout: 60_000 })
  if ((await busy.getAttribute('aria-expanded')) === 'false') await busy.click()
  const counter = documents.locator('.monaco-list-row', { hasText: 'counter' }).first()
  await counter.waitFor({ timeout: 30_000 })
  for (let i = 0; i < 20; i++) {
    await counter.click()
    await page.waitForTimeout(60)
  }
  await page.waitForTimeout(1_000)
  const notFound = page.locator('.notification-toast, .monaco-dialog-box', { hasText: /not found/ })
  assert.equal(await notFound.count(), 0, `a click landed on a replaced item: ${await notFound.first().innerText().catch(() => '')}`)
  await page.locator('.tab', { hasText: 'Inspect /busy/counter' }).first().waitFor({ timeout: 15_000 })
  await ctx.screenshot('inspector-after-20-clicks')
  writer.kill()
}
