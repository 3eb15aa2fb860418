// Harness self-check, not run by `npm run test:e2e`: proves the view-pane and webview helpers against
// VS Code's built-in Markdown preview (a webview), so a failure here means the harness, not the extension.
// Template for the inspector webview: same ctx.webview() access.
//   npm run test:e2e:scenario -- test/e2e/scenarios/harness-webview.ts
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'

export default async function harnessWebview(ctx: ScenarioContext): Promise<void> {
  assert.equal(await ctx.viewPane('Outline').count(), 1, 'the Explorer has an Outline pane')

  writeFileSync(join(ctx.workspace, 'README.md'), '# Hello webview\n\nrendered by the markdown extension\n')
  await ctx.viewPane('Workspace').locator('.monaco-list-row', { hasText: 'README.md' }).click()
  await ctx.runCommand('Markdown: Open Preview to the Side')
  const preview = ctx.webview(0)
  await preview.locator('h1', { hasText: 'Hello webview' }).waitFor({ timeout: 20_000 })
  assert.match(await preview.locator('body').innerText(), /rendered by the markdown extension/)
  await ctx.screenshot('markdown-preview')
}
