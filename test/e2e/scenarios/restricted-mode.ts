// Restricted Mode (an untrusted workspace), as a user meets it: the Peers view says that sessions are
// off and offers workspace trust; "Tonk: Start P2P Session" explains instead of starting (no session,
// no data dir); Validate Manifest still works. The runner turns workspace trust on for this scenario
// (`workspaceTrust` below) and leaves the folder untrusted.
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/restricted-mode.ts   (screenshots: test-artifacts/e2e/restricted-mode/)
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles } from '../poll'

export const workspaceTrust = true


export default async function restrictedMode(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  // VS Code marks Restricted Mode in the status bar.
  await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 })

  await ctx.runCommand('Tonk: Focus on Peers View')
  const peers = ctx.viewPane('Peers')
  await peers.getByText('Restricted Mode: P2P sessions are off').waitFor({ timeout: 15_000 })
  assert.equal(await peers.getByText('No P2P session is running').count(), 0, 'the trusted-mode welcome is hidden')
  const documents = ctx.viewPane('Documents')
  await documents.getByText('Sessions need a trusted workspace').waitFor({ timeout: 15_000 })
  assert.equal(await documents.getByRole('button', { name: 'Start P2P Session' }).count(), 0, 'no Start button in the Documents welcome')
  await ctx.screenshot('peers-view-restricted')

  await ctx.runCommand('Tonk: Start P2P Session')
  const warning = ctx.notification(/P2P sessions need a trusted workspace/)
  await warning.waitFor({ timeout: 15_000 })
  assert.equal(await warning.getByRole('button', { name: 'Manage Workspace Trust' }).count(), 1)
  await ctx.screenshot('start-refused')
  // Nothing started: no session.json anywhere under the scenario's state, and no running notification.
  await new Promise((r) => setTimeout(r, 2000))
  assert.deepEqual(findFiles(ctx.tmp, 'session.json'), [])
  assert.equal(await ctx.notification(/is running as/).count(), 0)

  // Working without trust: validation.
  await ctx.runCommand('Tonk: Validate Manifest')
  await page.locator('.notification-toast, .monaco-dialog-box').filter({ hasText: /valid/ }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('validate-works')
}
