// When the engine's thread dies (an exception nobody caught, as an engine bug would throw), the user is
// told and can restart: start the session (its worker script crashes on demand: fixtures/
// crashing-engine-worker.cjs) → the crash → an error notification with Restart Session and Show Log,
// the session is let go everywhere (status bar, Peers and Documents views) → Restart Session → running again on the same data (same
// endpoint id) → the session works (its document tree is listed).
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/engine-crash.ts (screenshots: test-artifacts/e2e/engine-crash/)
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles, until } from '../poll'
import { ROOT } from '../workspace'

export const env = { TONK_ENGINE_WORKER_FILE: join(ROOT, 'test', 'e2e', 'fixtures', 'crashing-engine-worker.cjs') }

export default async function engineCrash(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const statusItem = (text: string | RegExp) => page.locator('.statusbar-item', { hasText: text }).first()
  const sessionJson = () => findFiles(ctx.tmp, 'session.json').find((f) => f.endsWith('/default/session.json'))

  // 1. A running session.
  await statusItem(/Tonk/).waitFor({ timeout: 30_000 })
  await ctx.runCommand('Tonk: Start P2P Session')
  await statusItem('Tonk: 0 peers').waitFor({ timeout: 60_000 })
  const file = await until('the session file', () => sessionJson(), 30_000)
  const before = JSON.parse(readFileSync(file, 'utf8')) as { endpointId: string }
  await ctx.runCommand('Tonk: Focus on Documents View')
  const documents = ctx.viewPane('Documents')
  await documents.locator('.monaco-list-row').first().waitFor({ timeout: 15_000 })

  // 2. The engine's thread dies.
  writeFileSync(join(dirname(file), 'crash-engine-now'), '')
  const toast = ctx.notification('its engine ended unexpectedly')
  await toast.waitFor({ timeout: 30_000 })
  // Every view lets go of the session that no longer runs (none shows it running or its old tree).
  await until('the status bar no longer says running', async () => !(await statusItem('Tonk: 0 peers').isVisible()), 15_000)
  await ctx.runCommand('Tonk: Focus on Peers View')
  await ctx.viewPane('Peers').getByText('No P2P session is running.').waitFor({ timeout: 15_000 })
  await until('the Documents view is empty', async () => (await documents.locator('.monaco-list-row').count()) === 0, 15_000)
  await ctx.screenshot('engine-ended-notification')
  assert.ok(await toast.getByRole('button', { name: 'Restart Session' }).isVisible(), 'the notification offers a restart')
  assert.ok(await toast.getByRole('button', { name: 'Show Log' }).isVisible(), 'and the log')

  // 3. Restart: the same app on the same data dir, running again.
  await toast.getByRole('button', { name: 'Restart Session' }).click()
  await statusItem('Tonk: 0 peers').waitFor({ timeout: 60_000 })
  const after = JSON.parse(readFileSync(sessionJson()!, 'utf8')) as { endpointId: string }
  assert.equal(after.endpointId, before.endpointId, 'restarted on the same data (the same endpoint id)')
  await ctx.runCommand('Tonk: Focus on Documents View')
  await documents.locator('.monaco-list-row').first().waitFor({ timeout: 15_000 })
  await ctx.screenshot('restarted')
  ctx.log('the engine crashed: the user was told and restarted it on the same data')
}
