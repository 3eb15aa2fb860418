// Panels come back after a window reload, in a real VS Code (code-server + Chromium):
//   Start P2P Session; the preview and an inspector are open → Developer: Reload Window → both tabs are
//   back, saying the session ended with the window and offering Start P2P Session (nothing starts
//   by itself) → Start P2P Session: the inspector shows its document and the preview its app again,
//   in the same tabs.
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/panel-restore.ts   (screenshots: test-artifacts/e2e/panel-restore/)
import assert from 'node:assert/strict'
import type { ScenarioContext } from '../scenario'
import { findFiles, sleep, until } from '../poll'
import { webviewWith as findWebview } from '../scenario-helpers'

export default async function panelRestore(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const webviewWith = (selector: string, what: string, ms = 60_000) => findWebview(ctx, selector, what, ms)
  const tab = (title: string) => page.locator('.tab', { hasText: title }).first()

  await ctx.runCommand('Tonk: Start P2P Session')
  await until("the extension's session", () => findFiles(ctx.tmp, 'session.json')[0], 60_000)
  await ctx.runCommand('Tonk: Preview Bundle App')
  await webviewWith('#add-form', 'the my-world preview')
  await ctx.runCommand('Tonk: Open Document Inspector')
  const pick = page.locator('.quick-input-list .monaco-list-row').first()
  await pick.waitFor({ timeout: 20_000 })
  await page.keyboard.press('Enter')
  await tab('Inspect /').waitFor({ timeout: 20_000 })
  await webviewWith('.row', 'the inspector showing the root')
  await sleep(500) // the page saves its state with VS Code as it renders
  await ctx.screenshot('before-reload')

  // Reload the window: the extension host starts over, and with it every session.
  await ctx.runCommand('Developer: Reload Window')
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 })
  await tab('Inspect /').waitFor({ timeout: 60_000 })
  await tab('Preview my-world').waitFor({ timeout: 30_000 })
  await tab('Inspect /').click()
  const waiting = await webviewWith('p.waiting', 'the restored inspector, waiting for a session', 30_000)
  assert.match(await waiting.locator('body').innerText(), /Start P2P Session/)
  await ctx.screenshot('restored-waiting-for-a-session')
  assert.equal(findFiles(ctx.tmp, 'session.json').length >= 1, true)

  // Start a session: the same tabs show their document and app again.
  await ctx.runCommand('Tonk: Start P2P Session')
  await webviewWith('.row', 'the restored inspector showing the root again')
  await tab('Preview my-world').click()
  await webviewWith('#add-form', 'the restored preview running the app again')
  assert.equal(await page.locator('.tab', { hasText: 'Inspect /' }).count(), 1, 'one inspector tab: restored in place, not a second one')
  assert.equal(await page.locator('.tab', { hasText: 'Preview my-world' }).count(), 1, 'one preview tab')
  await ctx.screenshot('restored-panels-live-again')
  ctx.log('panels restored after a window reload, live again after Start P2P Session')
}
