// A user's .tonk file in a real VS Code (code-server + Chromium), as a Tonk user lives it:
//   the .tonk (an app whose page and script are documents of its VFS, and a note; its networkUris name a
//   relay: a real automerge-repo WebSocket sync server) is in the workspace; Explorer → right-click →
//   Start P2P Session; a modal asks before syncing through the file's relay ("Use Relay": the server
//   shows in the Peers view); a peer serves a copy of the same file (`tonk-p2p serve
//   notes.tonk`) and connects; Preview Bundle App shows the app from the VFS, and the app reads its note
//   with Tonk's own API (window.tonk.readFile); the peer replaces the page (`doc put /app/index.html
//   --file`) and the preview reloads with it (the app's code syncs like its data); Export .tonk writes a
//   file whose VFS has the peer's page and the same rootId (checked with `tonk-p2p inspect`).
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/tonk-file.ts   (screenshots: test-artifacts/e2e/tonk-file/)
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildTonkVfs, writeTonk } from '../../../src/core/tonk'
import type { ScenarioContext } from '../scenario'
import { findFiles, until } from '../poll'
import { cliRunner, webviewWith as findWebview } from '../scenario-helpers'

const enc = (s: string) => new TextEncoder().encode(s)
const PAGE = (title: string) =>
  `<!doctype html><html><body><h1 id="title">${title}</h1><p>todo: <span id="todo">…</span></p><script src="./app.js"></script></body></html>\n`
// Written for Tonk's API (readFile of a DocNode), not ours.
const APP_JS = `
function start(tonk) {
  tonk.readFile('/notes/todo.txt').then((file) => {
    document.getElementById('todo').textContent = file ? String(file.content) : '(no note)'
  })
}
if (window.tonk) start(window.tonk)
else window.addEventListener('tonk:ready', () => start(window.tonk), { once: true })
`

export default async function tonkFile(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cliJs = join(ctx.root, 'out', 'cli.cjs')
  const peerData = join(ctx.tmp, 'peer-b')
  const cli = cliRunner(ctx)
  const webviewWith = (selector: string, what: string, ms = 60_000) => findWebview(ctx, selector, what, ms)

  // The relay the file names: a plain automerge-repo WebSocket sync server (what Tonk's relay speaks), on loopback.
  const server = ctx.spawn(process.execPath, ['--import', 'tsx', join(ctx.root, 'test/helpers/discovery-sync-server.ts')], { cwd: ctx.root })
  const relayPort = await new Promise<number>((resolve, reject) => {
    server.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const m = /listening (\d+)/.exec(d)
      if (m) resolve(Number(m[1]))
    })
    server.once('exit', (code) => reject(new Error(`sync server exited (${code})`)))
  })
  const relay = `ws://127.0.0.1:${relayPort}/`

  // The user's file: made by our writer in Tonk's current layout (random rootId, as Tonk makes them).
  const { rootId, documents } = await buildTonkVfs([
    { path: '/app/index.html', bytes: enc(PAGE('Tonk notes v1')) },
    { path: '/app/app.js', bytes: enc(APP_JS), mime: 'text/javascript' },
    { path: '/notes/todo.txt', content: 'water the plants' },
  ])
  const tonkBytes = await writeTonk({ manifest: { manifestVersion: 1, version: { major: 1, minor: 0 }, rootId, entrypoints: ['app'], networkUris: [relay] }, documents })
  const tonkPath = join(ctx.workspace, 'notes.tonk')
  writeFileSync(tonkPath, tonkBytes)
  const peerCopy = join(ctx.tmp, 'notes-copy.tonk')
  copyFileSync(tonkPath, peerCopy)

  // 1. Explorer → right-click notes.tonk → Start P2P Session.
  await ctx.runCommand('View: Show Explorer')
  // Written behind VS Code's back: refresh, as a user would after copying a file in.
  await ctx.runCommand('Refresh Explorer')
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'notes.tonk' }).first()
  await row.waitFor({ timeout: 30_000 })
  await row.click({ button: 'right' })
  const item = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Start P2P Session' }).first()
  await item.waitFor({ timeout: 5000 })
  await ctx.screenshot('explorer-menu-on-a-tonk')
  await item.hover()
  await page.mouse.down()
  await page.mouse.up()
  // The file names a relay: asked before anything is sent there.
  await ctx.dialog('names a relay server').waitFor({ timeout: 30_000 })
  await ctx.dialog(relay).waitFor({ timeout: 5_000 })
  await ctx.screenshot('asks-before-using-the-relay')
  await ctx.dismissDialog('Use Relay')
  const sessionJson = await until("the session's session.json", () => findFiles(ctx.tmp, 'session.json').find((f) => !f.startsWith(peerData)), 60_000)
  const { ticket } = JSON.parse(readFileSync(sessionJson, 'utf8')) as { ticket: string }

  // 2. A peer opens a copy of the same file and connects.
  ctx.spawn(process.execPath, [cliJs, 'serve', peerCopy, '--data', peerData, '--name', 'peer-b', '--bind', '127.0.0.1:0', '--connect', ticket, '--no-bootstrap-peers'])
  await ctx.runCommand('Tonk: Focus on Peers View')
  await ctx.viewPane('Peers').locator('.monaco-list-row', { hasText: 'peer-b' }).first().waitFor({ timeout: 60_000 })
  await ctx.viewPane('Peers').locator('.monaco-list-row', { hasText: 'sync server' }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('peer-and-relay-connected')

  // 3. Preview: the app from the VFS; it reads its note through Tonk's readFile.
  await ctx.runCommand('Tonk: Preview Bundle App')
  let preview = await webviewWith('#title', 'the app page from the VFS')
  await preview.locator('#title', { hasText: 'Tonk notes v1' }).waitFor({ timeout: 30_000 })
  await preview.locator('#todo', { hasText: 'water the plants' }).waitFor({ timeout: 30_000 })
  await ctx.screenshot('preview-from-the-vfs')

  // 4. The peer replaces the page: the preview reloads with it.
  const edited = join(ctx.tmp, 'index-v2.html')
  writeFileSync(edited, PAGE('Tonk notes v2 (from peer-b)'))
  const put = performance.now()
  await cli(['doc', 'put', '/app/index.html', '--file', edited, '--data', peerData])
  preview = await until('the preview reloaded with the peer\'s page', async () => {
    const frame = await webviewWith('#title', 'the preview', 5000)
    return (await frame.locator('#title', { hasText: 'v2 (from peer-b)' }).count()) > 0 ? frame : undefined
  }, 30_000)
  const reloadMs = performance.now() - put
  await preview.locator('#todo', { hasText: 'water the plants' }).waitFor({ timeout: 30_000 })
  ctx.log(`peer's doc put → preview reloaded with the new page: ${reloadMs.toFixed(0)} ms`)
  await ctx.screenshot('preview-reloaded-by-a-peer')

  // 5. Export .tonk (the save dialog: code-server's own, a path box): the peer's page is in the file.
  const exported = join(ctx.workspace, 'exported.tonk')
  await ctx.runCommand('Tonk: Export .tonk')
  const pathBox = page.locator('.quick-input-widget .quick-input-box input')
  await pathBox.waitFor({ timeout: 15_000 })
  await ctx.screenshot('export-save-dialog')
  await pathBox.fill(exported)
  await pathBox.press('Enter')
  await until('exported.tonk written', () => existsSync(exported), 30_000)
  await ctx.notification('exported').first().waitFor({ timeout: 15_000 })
  await ctx.screenshot('exported')
  const inspected = JSON.parse(await cli(['inspect', exported, '--json'])) as { manifest: { rootId: string; entrypoints: string[] }; vfs?: { nodes?: Array<{ path: string; size?: number }> } }
  assert.equal(inspected.manifest.rootId, rootId, 'the export keeps the rootId')
  assert.deepEqual(inspected.manifest.entrypoints, ['app'], 'and the entrypoints')
  const nodes = JSON.stringify(inspected)
  assert.ok(nodes.includes('/app/index.html') && nodes.includes('/notes/todo.txt'), nodes.slice(0, 500))
  const unpacked = join(ctx.tmp, 'unpacked')
  await cli(['unpack', exported, '-o', unpacked])
  const page2 = readFileSync(join(unpacked, 'app', 'index.html'), 'utf8')
  assert.ok(page2.includes('v2 (from peer-b)'), `the exported page is the peer's: ${page2}`)
  ctx.log(`export: ${exported} keeps root ${rootId.slice(0, 10)} and has the peer's page`)
}
