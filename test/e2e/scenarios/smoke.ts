// Smoke scenario: the workbench loads with the example workspace, and the extension's commands are in
// the command palette. Run: node scripts/isolated.mjs node --import tsx test/e2e/run-code-server.ts --scenario test/e2e/scenarios/smoke.ts
import assert from 'node:assert/strict'
import type { ScenarioContext } from '../scenario'

export default async function smoke(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx

  // 1. The workbench shows the workspace (explorer lists tonk.json).
  await page.locator('.explorer-folders-view').waitFor({ timeout: 30_000 }).catch(async () => {
    await page.keyboard.press('Control+Shift+E') // open the explorer if another view won
  })
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'tonk.json' }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('workbench')

  // 2. "Tonk: Validate Manifest" is in the palette (contributed by package.json).
  const rows = await ctx.commandPalette('Tonk: Validate Manifest')
  ctx.log('palette rows:', rows)
  assert.ok(rows.some((r) => r.includes('Tonk: Validate Manifest')), `palette rows: ${rows.join(' | ')}`)
  await ctx.screenshot('palette-validate-manifest')

  // 3. Run it and wait for its answer: a toast, or a modal dialog. (Without a registered command VS Code
  //    answers with the modal error "command 'tonk.validateManifest' not found"; that is tolerated and
  //    logged here.) To pin the behaviour, assert the result, e.g.
  //    await ctx.notification(/is a valid bundle/).waitFor()
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Tonk: Validate Manifest' }).first().click()
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' })
  const answer = page.locator('.notification-toast, .monaco-dialog-box').first()
  await answer.waitFor({ timeout: 15_000 })
  await ctx.screenshot('after-validate-manifest')
  ctx.log('answer:', (await answer.innerText()).replace(/\s+/g, ' '))
  if (await ctx.dialog(/not found/).count()) {
    ctx.log('tonk.validateManifest is not implemented yet (VS Code: command not found)')
    await ctx.dismissDialog()
  }

  // 4. The other commands are listed too.
  const all = await ctx.commandPalette('Tonk:')
  ctx.log('Tonk commands:', all)
  assert.ok(all.some((r) => r.includes('Tonk: Pack Bundle')), `palette rows: ${all.join(' | ')}`)
  await ctx.screenshot('palette-tonk-commands')
  await ctx.closeQuickInput()

  // 5. The getting-started walkthrough opens from Help: Welcome, with its steps and images.
  await ctx.commandPalette('Welcome: Open Walkthrough')
  await page.keyboard.press('Enter')
  const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get started with Tonk P2P' }).first()
  await pick.waitFor({ timeout: 15_000 })
  await pick.click()
  const step = page.locator('.getting-started-step', { hasText: 'Start a P2P session' }).first()
  await step.waitFor({ timeout: 15_000 })
  await step.click()
  await page.locator('.getting-started-media img').first().waitFor({ timeout: 15_000 })
  await ctx.screenshot('walkthrough')
}

