// Several bundles at once in a real VS Code (code-server + Chromium): a multi-root workspace with two
// bundle folders (my-world and a fresh `tonk-p2p init` app). Start P2P Session twice (the picker asks
// which bundle) → two sessions run side by side: the status bar sums them up ("2 sessions"), the Peers
// and Documents views have a row per bundle with its own rows below → a CLI peer of the second app
// joins by ticket: it shows under that bundle only → Copy My Ticket asks which session → Stop from
// the bundle row's inline button stops that one session; the other runs on, views back to one bundle.
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/two-bundles.ts (screenshots: test-artifacts/e2e/two-bundles/)
import assert from 'node:assert/strict'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles, until } from '../poll'
import { cliRunner } from '../scenario-helpers'

export default async function twoBundles(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cli = cliRunner(ctx)
  const cliJs = join(ctx.root, 'out', 'cli.cjs')
  const root = join(ctx.tmp, 'two')
  cpSync(ctx.workspace, join(root, 'my-world'), { recursive: true })
  await cli(['init', join(root, 'notes'), '--name', 'notes'])
  const workspaceFile = join(root, 'apps.code-workspace')
  writeFileSync(workspaceFile, JSON.stringify({ folders: [{ path: 'my-world' }, { path: 'notes' }] }, null, 2))
  await page.goto(`${ctx.baseUrl}/?workspace=${encodeURIComponent(workspaceFile)}`)
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 })
  const statusItem = (text: string | RegExp) => page.locator('.statusbar-item', { hasText: text }).first()
  const pickRow = (text: string) => page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first()
  // The extension's data dir per app: <globalStorage>/<name>-<appId…>/default/session.json.
  const sessionJsonOf = (app: string) => findFiles(ctx.tmp, 'session.json').find((f) => new RegExp(`/${app}-[^/]{12}/default/session\\.json$`).test(f))

  // 1. Start both: the bundle picker lists the two folders.
  for (const app of ['my-world', 'notes']) {
    const t0 = Date.now()
    await ctx.runCommand('Tonk: Start P2P Session')
    // The first command of a freshly opened window waits for its extension host to start and activate
    // the extension: on a loaded 2-core CI machine that took longer than 15 s once.
    await pickRow(app).waitFor({ timeout: 45_000 })
    ctx.log(`bundle picker for ${app} after ${Date.now() - t0} ms`)
    if (app === 'my-world') await ctx.screenshot('bundle-picker-two-folders')
    await pickRow(app).click()
    await until(`${app}'s session`, () => sessionJsonOf(app), 60_000)
  }
  await statusItem('Tonk: 2 sessions').waitFor({ timeout: 30_000 })

  // 2. The views group by bundle.
  await ctx.runCommand('Tonk: Focus on Peers View')
  const peers = ctx.viewPane('Peers')
  const groupRow = (pane: typeof peers, name: string) => pane.locator('.monaco-list-row', { hasText: `${name}@` }).first()
  await groupRow(peers, 'my-world').waitFor({ timeout: 15_000 })
  await groupRow(peers, 'notes').waitFor({ timeout: 15_000 })
  const documents = ctx.viewPane('Documents')
  await ctx.runCommand('Tonk: Focus on Documents View')
  await groupRow(documents, 'my-world').waitFor({ timeout: 15_000 })
  await groupRow(documents, 'notes').waitFor({ timeout: 15_000 })
  await until('two root rows in Documents', async () => (await documents.locator('.monaco-list-row', { hasText: /^\s*\/\s*/ }).count()) >= 2, 15_000)
  await ctx.screenshot('two-sessions-grouped')

  // 3. A peer of notes joins by ticket: it is listed under notes, not under my-world.
  const notes = JSON.parse(readFileSync(sessionJsonOf('notes')!, 'utf8')) as { ticket: string; endpointId: string }
  const myWorld = JSON.parse(readFileSync(sessionJsonOf('my-world')!, 'utf8')) as { endpointId: string }
  assert.notEqual(notes.endpointId, myWorld.endpointId, 'one endpoint per bundle')
  ctx.spawn(process.execPath, [cliJs, 'serve', join(root, 'notes'), '--data', join(ctx.tmp, 'notes-peer'), '--name', 'notes-peer', '--bind', '127.0.0.1:0', '--connect', notes.ticket, '--no-bootstrap-peers'])
  await ctx.runCommand('Tonk: Focus on Peers View')
  await statusItem('Tonk: 2 sessions · 1 peer').waitFor({ timeout: 60_000 })
  const rows = async () => (await peers.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim())
  const listed = await until('the notes peer under notes', async () => {
    const r = await rows()
    const notesAt = r.findIndex((t) => t.startsWith('notes@'))
    const peerAt = r.findIndex((t) => t.includes('notes-peer'))
    return notesAt >= 0 && peerAt > notesAt ? r : undefined
  }, 30_000)
  ctx.log(`peers view: ${listed.join(' | ')}`)
  assert.match(listed.find((t) => t.startsWith('my-world@'))!, /0 peers/, 'my-world has no peer: the notes peer holds another app')
  assert.match(listed.find((t) => t.startsWith('notes@'))!, /1 peer/)
  await ctx.screenshot('peer-under-its-bundle')

  // 4. A command that means one session asks which.
  await ctx.runCommand('Tonk: Copy My Ticket')
  await page.locator('.quick-input-widget', { hasText: 'which session' }).waitFor({ timeout: 15_000 })
  assert.ok(await pickRow('my-world@').isVisible() && (await pickRow('notes@').isVisible()), 'both sessions offered')
  await ctx.screenshot('which-session')
  await pickRow('notes@').click()
  await ctx.notification('ticket of').first().waitFor({ timeout: 15_000 })
  const clipboard = await page.evaluate(() => navigator.clipboard.readText()).catch(() => undefined)
  if (clipboard !== undefined) assert.equal(clipboard.trim(), notes.ticket, 'the ticket of the session picked')

  // 5. Stop notes from its row (inline button): my-world runs on, the views show one bundle again.
  const notesRow = groupRow(peers, 'notes')
  await notesRow.hover()
  await notesRow.locator('.action-label[aria-label*="Stop P2P Session"]').click()
  await statusItem(/Tonk: \d+ peers?$/).waitFor({ timeout: 30_000 })
  await until('no bundle rows', async () => (await peers.locator('.monaco-list-row', { hasText: '@' }).count()) === 0 || undefined, 15_000)
  assert.equal(await statusItem('sessions').count(), 0)
  await ctx.screenshot('one-session-left')
  ctx.log('two bundles: two sessions side by side, grouped views, per-session commands, one stopped alone')
}
