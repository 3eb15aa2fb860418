// The end-to-end P2P scenario in a real VS Code (code-server + Chromium), as a user does it:
//   "Tonk: Start P2P Session" from the palette on the workspace (a copy of examples/my-world)
//   → a headless CLI peer (`tonk-p2p serve` of the same bundle folder, dialing the session's ticket)
//     appears in the Peers view
//   → `tonk-p2p doc put` on the CLI peer → the document shows in the inspector
//   → an edit in the inspector reaches the CLI peer (`tonk-p2p doc get`)
//   → the preview shows my-world; a place added in the preview reaches the CLI peer, and a place the
//     CLI peer puts appears in the preview without a reload.
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/p2p.ts   (screenshots: test-artifacts/e2e/p2p/)
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles, sleep, until } from '../poll'
import { cliRunner, webviewWith as findWebview } from '../scenario-helpers'




export default async function p2p(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cliJs = join(ctx.root, 'out', 'cli.cjs')
  const peerData = join(ctx.tmp, 'peer-b')

  const cli = cliRunner(ctx)
  const docGet = async (path: string) => JSON.parse(await cli(['doc', 'get', path, '--data', peerData])) as Record<string, any>

  const webviewWith = (selector: string, what: string) => findWebview(ctx, selector, what)

  // Console output of the pages (the preview shim reports its failures there too).
  page.on('console', (m) => {
    if (m.type() === 'error' || m.text().includes('[tonk]')) ctx.log(`console.${m.type()}: ${m.text().slice(0, 500)}`)
  })

  // 1. "Tonk: Start P2P Session" from the palette.
  await ctx.runCommand('Tonk: Start P2P Session')
  // The session's data dir is in the extension's global storage, under the scenario's temp state.
  const sessionJson = await until('session.json of the extension\'s session', () =>
    findFiles(ctx.tmp, 'session.json').find((f) => !f.startsWith(peerData)), 60_000)
  ctx.log(`session data: ${sessionJson}`)
  const { ticket, endpointId } = JSON.parse(readFileSync(sessionJson, 'utf8')) as { ticket: string; endpointId: string }
  ctx.log(`session ${endpointId.slice(0, 10)} running; ticket ${ticket.slice(0, 30)}…`)
  await ctx.runCommand('Tonk: Focus on Peers View')
  await ctx.screenshot('session-started')

  // 2. A headless CLI peer of the same bundle folder dials the session's ticket.
  ctx.spawn(process.execPath, [cliJs, 'serve', ctx.workspace, '--data', peerData, '--name', 'peer-b', '--bind', '127.0.0.1:0', '--connect', ticket])
  const peers = ctx.viewPane('Peers')
  await peers.locator('.monaco-list-row', { hasText: 'peer-b' }).first().waitFor({ timeout: 60_000 })
  await ctx.screenshot('peers-view-remote-peer')
  // What peer-b shares in the app's presence shows on its row.
  await cli(['presence', '--data', peerData, '--set', 'place="porto"'])
  await peers.locator('.monaco-list-row', { hasText: 'here: place porto' }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('peers-view-presence')

  // 3. The CLI peer writes a document; the inspector shows it.
  await cli(['doc', 'put', '/notes/hello', JSON.stringify({ text: 'written by peer-b', count: 1 }), '--data', peerData])
  await until('the document reaching the session', () => ctx.commandPalette('Tonk: Open Document Inspector', { run: true }).then(() => true))
  const pickInput = page.locator('.quick-input-widget .quick-input-box input')
  await pickInput.waitFor()
  await pickInput.fill('/notes/hello')
  const pickRow = page.locator('.quick-input-list .monaco-list-row', { hasText: '/notes/hello' }).first()
  try {
    await pickRow.waitFor({ timeout: 20_000 })
  } catch {
    // The session had not walked the new directory yet when the picker opened: open it again.
    await ctx.closeQuickInput()
    await ctx.runCommand('Tonk: Open Document Inspector')
    await pickInput.fill('/notes/hello')
    await pickRow.waitFor({ timeout: 20_000 })
  }
  await page.keyboard.press('Enter')
  const inspector = await webviewWith('.row[data-path=\'["content","text"]\']', 'the inspector showing /notes/hello')
  await inspector.locator('.value.string', { hasText: 'written by peer-b' }).waitFor({ timeout: 30_000 })
  await inspector.locator('table.peers td', { hasText: 'peer-b' }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('inspector-synced-document')

  // 4. An edit in the inspector reaches the CLI peer. (The inspector shows the whole document: a
  //    file of Tonk's VFS keeps its value under `content`, next to its name and timestamps.)
  await inspector.locator('.row[data-path=\'["content","text"]\'] .value').click()
  const input = inspector.locator('input.edit')
  await input.fill('edited in the inspector')
  await input.press('Enter')
  await inspector.locator('.value.string', { hasText: 'edited in the inspector' }).waitFor({ timeout: 30_000 })
  const edited = await until('the inspector edit on peer-b', async () => {
    const doc = await docGet('/notes/hello')
    return doc.text === 'edited in the inspector' ? doc : undefined
  })
  assert.equal(edited.count, 1)
  await inspector.locator('.history-row .message', { hasText: 'inspector: set content.text' }).first().waitFor({ timeout: 10_000 })
  await ctx.screenshot('inspector-edit-reached-peer')
  // A change on peer-b appears live in the open inspector.
  await cli(['doc', 'put', '/notes/hello', JSON.stringify({ text: 'edited in the inspector', count: 2 }), '--data', peerData])
  await inspector.locator('.row[data-path=\'["content","count"]\'] .value.number', { hasText: '2' }).waitFor({ timeout: 30_000 })

  // 4b. Time travel: step back two changes (before the inspector's edit), compare with the newest,
  //     restore that version as a new change, which reaches peer-b.
  const rows = inspector.locator('.history-row')
  await until('the newest change on top of the history', async () => ((await rows.nth(1).textContent()) ?? '').includes('inspector: set content.text') || undefined, 30_000)
  // Each change names who wrote it: peer-b's (it says the actor is its own), the inspector's edit "you".
  await until('peer-b named as the writer of its changes', async () => ((await rows.nth(2).locator('.actor').textContent()) ?? '') === 'peer-b' || undefined, 15_000)
  assert.equal(await rows.nth(1).locator('.actor').textContent(), 'you')
  await rows.nth(2).click()
  await inspector.locator('.past-banner', { hasText: 'read-only' }).waitFor({ timeout: 15_000 })
  await inspector.locator('.tree.past .value.string', { hasText: 'written by peer-b' }).waitFor({ timeout: 15_000 })
  await ctx.screenshot('inspector-two-changes-back')
  await rows.nth(0).click({ modifiers: ['Shift'] })
  await inspector.locator('.diff .diff-list .changed', { hasText: '/content/text' }).waitFor({ timeout: 15_000 })
  await inspector.locator('.diff .diff-list .changed', { hasText: '/content/count' }).waitFor({ timeout: 15_000 })
  await ctx.screenshot('inspector-diff')
  await inspector.locator('.travel-action', { hasText: 'Restore this version' }).click()
  await inspector.locator('.tree:not(.past) .row[data-path=\'["content","text"]\'] .value.string', { hasText: 'written by peer-b' }).waitFor({ timeout: 15_000 })
  await until('the restored version on peer-b', async () => {
    const doc = await docGet('/notes/hello')
    return doc.text === 'written by peer-b' && doc.count === 1 ? doc : undefined
  })
  await inspector.locator('.history-row .message', { hasText: 'inspector: restore the version of change' }).first().waitFor({ timeout: 10_000 })
  await ctx.screenshot('inspector-restored')
  // Put back what the rest of the scenario expects.
  await cli(['doc', 'put', '/notes/hello', JSON.stringify({ text: 'edited in the inspector', count: 2 }), '--data', peerData])
  await inspector.locator('.tree .row[data-path=\'["content","count"]\'] .value.number', { hasText: '2' }).waitFor({ timeout: 30_000 })

  // 5. The preview shows my-world and syncs both ways.
  await ctx.runCommand('Tonk: Preview Bundle App')
  const preview = await webviewWith('#add-form', 'the my-world preview')
  await preview.locator('#status.online', { hasText: 'synced peer to peer' }).waitFor({ timeout: 60_000 })
  await ctx.screenshot('preview-my-world')
  await preview.locator('#place-name').fill('Lisbon (added in the preview)')
  await preview.locator('#place-note').fill('pastéis de nata')
  await preview.locator('#add-button').click()
  await preview.locator('#places li', { hasText: 'Lisbon (added in the preview)' }).waitFor({ timeout: 30_000 })
  const places = await until('the preview\'s place on peer-b', async () => {
    const doc = await docGet('/my-world/places')
    const list = Object.values(doc.places ?? {}) as Array<{ name: string; addedBy: string }>
    return list.find((p) => p.name === 'Lisbon (added in the preview)') ? doc : undefined
  })
  const lisbon = Object.values(places.places as Record<string, { name: string; addedBy: string }>).find((p) => p.name.startsWith('Lisbon'))!
  assert.equal(lisbon.addedBy, endpointId, 'tonk.peerId is the session\'s endpoint id')
  await ctx.screenshot('preview-place-reached-peer')

  // peer-b adds a place (the whole document back with one more entry); it appears without a reload.
  places.places.kyoto = { name: 'Kyoto (put by peer-b)', note: 'from the CLI', x: 300, y: 60, addedBy: 'peer-b', addedAt: Date.now(), votes: {} }
  await cli(['doc', 'put', '/my-world/places', JSON.stringify(places), '--data', peerData])
  await preview.locator('#places li', { hasText: 'Kyoto (put by peer-b)' }).waitFor({ timeout: 30_000 })
  await preview.locator('#places li', { hasText: 'Lisbon (added in the preview)' }).waitFor({ timeout: 5_000 })
  assert.equal(await preview.locator('#count').innerText(), '2')
  await ctx.screenshot('preview-remote-place-live')

  // 6. Presence: peer-b (a headless peer, standing in for a person) looks at Kyoto; the preview shows who
  //    is here and who looks where; looking at Lisbon in the preview reaches peer-b.
  await cli(['presence', '--data', peerData, '--set', 'place="kyoto"'])
  await preview.locator('#here', { hasText: 'peer-b' }).waitFor({ timeout: 30_000 })
  await preview.locator('#places li', { hasText: 'Kyoto (put by peer-b)' }).locator('.looker', { hasText: 'peer-b' }).waitFor({ timeout: 30_000 })
  await preview.locator('#places li .name', { hasText: 'Lisbon (added in the preview)' }).click()
  const lisbonId = Object.entries(places.places as Record<string, { name: string }>).find(([, p]) => p.name.startsWith('Lisbon'))![0]
  await until('peer-b sees the preview looking at Lisbon', async () => {
    const seen = JSON.parse(await cli(['--json', 'presence', '--data', peerData])) as { peers: Array<{ kind?: string; peerId?: string; state: Record<string, unknown> }> }
    return seen.peers.find((p) => p.kind === 'page' && p.peerId === endpointId && p.state.place === lisbonId)
  })
  await ctx.screenshot('preview-presence')
}

