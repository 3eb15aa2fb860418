// The Mesh view in a real VS Code (code-server + Chromium): Start P2P Session, three local peers →
// Show Mesh draws 4 nodes (you and local-1..3) and 6 links (yours, and the ones the peers report among
// themselves) → `tonk-p2p link local-2 --delay 200` on this session's data dir shows on that edge and
// its sync round trip (~400 ms) → Enter on a node reveals its row in the Peers view → --clear takes the fault off the edge →
// `--drop` on every link of local-2 partitions it (its edge says drop), this session and local-2 each write
// a document the other does not get → --clear heals and all four converge on both.
// Run: npm run test:e2e:scenario -- test/e2e/scenarios/mesh.ts   (screenshots: test-artifacts/e2e/mesh/)
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import type { ScenarioContext } from '../scenario'
import { findFiles, sleep, until } from '../poll'
import { cliRunner, webviewWith } from '../scenario-helpers'

export default async function mesh(ctx: ScenarioContext): Promise<void> {
  const { page } = ctx
  const cli = cliRunner(ctx)

  await ctx.runCommand('Tonk: Start P2P Session')
  const sessionJson = await until("the extension's session", () => findFiles(ctx.tmp, 'session.json').find((f) => !f.includes('local-peers')), 60_000)
  const dataDir = dirname(sessionJson)
  await page.locator('.statusbar-item', { hasText: 'Tonk: 0 peers' }).first().waitFor({ timeout: 60_000 }) // running, not starting
  await ctx.commandPalette('Tonk: Start Local Peers', { run: true })
  await page.locator('.quick-input-widget', { hasText: 'How many headless peers' }).waitFor({ timeout: 15_000 })
  const countInput = page.locator('.quick-input-widget .quick-input-box input')
  await countInput.waitFor()
  await countInput.fill('3')
  // Enter counts once the box has validated what was typed: press until it closes.
  await until('the local peers box accepted', async () => {
    await countInput.press('Enter').catch(() => {})
    return !(await page.locator('.quick-input-widget').isVisible())
  }, 15_000, 500)
  await ctx.runCommand('Tonk: Focus on Peers View')
  const peers = ctx.viewPane('Peers')
  for (const name of ['local-1', 'local-2', 'local-3']) await peers.locator('.monaco-list-row', { hasText: name }).first().waitFor({ timeout: 90_000 })

  await ctx.runCommand('Tonk: Show Mesh')
  const view = await webviewWith(ctx, 'svg .node.self', 'the mesh view')
  await until('4 nodes and 6 links', async () => (await view.locator('.node').count()) === 4 && (await view.locator('.edge').count()) === 6, 60_000)
  assert.equal(await view.locator('.edge.ours').count(), 3, 'this session links to the three local peers')
  assert.equal(await view.locator('.edge.reported').count(), 3, 'and they report their links among themselves')
  for (const name of ['local-1', 'local-2', 'local-3']) await view.locator('.node .node-label', { hasText: name }).first().waitFor()
  await ctx.screenshot('mesh-of-four')

  // A delay on one link, through the CLI on this session's data dir: its edge says so, and its RTT grows.
  await cli(['link', 'local-2', '--data', dataDir, '--delay', '200'])
  const local2 = (await cli(['--json', 'peers', '--data', dataDir]).then((t) => JSON.parse(t).peers as Array<{ name?: string; endpointId: string }>)).find((p) => p.name === 'local-2')!
  const edge = view.locator(`.edge.ours[data-to="${local2.endpointId}"]`)
  await until('the delay on local-2’s edge', async () => /delay 200/.test((await edge.locator('text').textContent()) ?? ''), 30_000)
  // The round trip sync sees (a ping through our framing) carries the delay both ways; QUIC's RTT does not.
  await until('the sync round trip on local-2’s edge', async () => {
    const m = /sync (\d+) ms/.exec((await edge.locator('text').textContent()) ?? '')
    return m && Number(m[1]) >= 350
  }, 30_000)
  assert.equal(await edge.getAttribute('class').then((c) => c?.includes('fault')), true)
  ctx.log(`edge to local-2: ${await edge.locator('text').textContent()}`)
  await ctx.screenshot('mesh-delay-on-one-link')

  // Keyboard: focus local-2's node, Enter → its row is selected in the Peers view.
  await view.locator(`.node[data-id="${local2.endpointId}"]`).focus()
  await page.keyboard.press('Enter')
  await peers.locator('.monaco-list-row.selected', { hasText: 'local-2' }).first().waitFor({ timeout: 15_000 })
  await ctx.screenshot('enter-reveals-the-peer-row')

  await cli(['link', 'local-2', '--data', dataDir, '--clear'])
  await until('the fault gone from the edge', async () => !/delay/.test((await view.locator(`.edge.ours[data-to="${local2.endpointId}"] text`).textContent().catch(() => 'delay')) ?? ''), 60_000)

  // Partition local-2: a drop on each of its links (ours and the other local peers'), both sides write.
  const localDir = (n: number) => join(dataDir, 'local-peers', `peer-${n}`)
  const linksOfLocal2 = [dataDir, localDir(1), localDir(3)]
  for (const dir of linksOfLocal2) await cli(['link', 'local-2', '--data', dir, '--drop'])
  await until('drop on local-2’s edge', async () => /drop/.test((await edge.locator('text').textContent()) ?? ''), 30_000)
  // The other local peers' drops come in their link reports: their dashed edges to local-2 say so too.
  await until('drop on the reported edges to local-2', async () => (await view.locator('.edge.reported.fault').count()) >= 2, 30_000)
  await cli(['doc', 'put', '/notes/partition-here', JSON.stringify({ by: 'this session' }), '--data', dataDir])
  await cli(['doc', 'put', '/notes/partition-there', JSON.stringify({ by: 'local-2' }), '--data', localDir(2)])
  const has = async (dir: string, path: string) => {
    try {
      return JSON.parse(await cli(['--json', 'doc', 'get', path, '--data', dir])).value !== undefined
    } catch {
      return false // not there (yet)
    }
  }
  await sleep(3000)
  assert.equal(await has(localDir(2), '/notes/partition-here'), false, 'local-2 is cut off: our write does not reach it')
  assert.equal(await has(dataDir, '/notes/partition-there'), false, 'and its write does not reach us')
  assert.equal(await has(localDir(1), '/notes/partition-here'), true, 'the rest of the mesh still syncs')
  await ctx.screenshot('mesh-local-2-partitioned')

  // Heal: every link of local-2 cleared; all four converge on both writes.
  for (const dir of linksOfLocal2) await cli(['link', 'local-2', '--data', dir, '--clear'])
  for (const dir of [dataDir, localDir(1), localDir(2), localDir(3)]) {
    await until(`both writes in ${dir.slice(-12)}`, async () => (await has(dir, '/notes/partition-here')) && (await has(dir, '/notes/partition-there')), 60_000, 500)
  }
  await until('no fault on the edge', async () => !/drop/.test((await edge.locator('text').textContent()) ?? ''), 30_000)
  await ctx.runCommand('Tonk: Focus on Documents View')
  await ctx.viewPane('Documents').locator('.monaco-list-row', { hasText: 'partition-there' }).first().waitFor({ timeout: 30_000 })
  await ctx.screenshot('healed-all-converged')
  ctx.log('mesh: 4 nodes, 6 links; a delay shown on its edge and cleared; Enter reveals the peer row; a partition of local-2 healed, all converged')
}
