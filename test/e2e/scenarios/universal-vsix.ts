// The universal VSIX (no iroh native module) installed into a real VS Code, as someone on a platform
// iroh has no build for meets it: the Peers view says P2P sessions are off and why; Start P2P Session
// explains instead of starting (no stack, no data dir) and says what to use instead; Validate Manifest
// and Pack Bundle work. On this linux-x64 machine the universal VSIX hides the native module the way a
// Windows or Intel-Mac machine would lack it (the installed folder has no native/ and no node_modules).
// Run: npm run package && node scripts/isolated.mjs node --import tsx test/e2e/run-code-server.ts \
//        --vsix tonk-p2p-universal.vsix --scenario test/e2e/scenarios/universal-vsix.ts
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles } from '../poll'


export default async function universalVsix(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  await ctx.runCommand('Tonk: Focus on Peers View')
  const peers = ctx.viewPane('Peers')
  // Set once the engine has loaded for the manifest scan (a file probe, the module is not loaded).
  await peers.getByText('P2P sessions are off: this VSIX carries no iroh native module').waitFor({ timeout: 30_000 })
  assert.equal(await peers.getByText('No P2P session is running').count(), 0, 'the usual welcome is hidden')
  await ctx.viewPane('Documents').getByText('P2P sessions are off').waitFor({ timeout: 15_000 })
  await ctx.screenshot('peers-view-no-native')

  // The welcome's link runs Start P2P Session, which explains instead of starting.
  await peers.getByRole('button', { name: 'Why, and what to use instead' }).click()
  const error = ctx.notification(/P2P sessions need the iroh native module, which this VSIX does not carry for Linux x64/)
  await error.waitFor({ timeout: 15_000 })
  const text = (await error.innerText()).replace(/\s+/g, ' ')
  assert.match(text, /tonk-p2p serve BUNDLE/)
  assert.match(text, /connect your peers to it by ticket/)
  assert.match(text, /Validate Manifest and Pack Bundle work here/)
  assert.match(text, /E_NATIVE_MISSING/)
  assert.doesNotMatch(text, /\bat \S+ \(|Error:|\.cjs:\d+/, `a stack in the notification: ${text}`)
  await ctx.screenshot('start-explains')

  // The palette says the same; nothing started.
  await ctx.runCommand('Tonk: Start P2P Session')
  await new Promise((r) => setTimeout(r, 2000))
  assert.deepEqual(findFiles(ctx.tmp, 'session.json'), [])
  assert.equal(await ctx.notification(/is running as/).count(), 0)

  // What works without iroh: validation (and its diagnostics), packing.
  await ctx.runCommand('Tonk: Validate Manifest')
  await page.locator('.notification-toast, .monaco-dialog-box').filter({ hasText: /valid/ }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('validate-works')
}
