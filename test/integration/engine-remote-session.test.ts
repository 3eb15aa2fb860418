// RemoteSession: a Session on a worker thread (out/engine-worker.cjs, so `npm run build` first), driven
// by messages. Against a Session in this thread over real iroh: calls, events and state cross; typed
// errors keep their code; the host reads and edits documents through its mirror Repo.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Repo, type AutomergeUrl } from '@automerge/automerge-repo/slim'
import { loadBundle, packDirectory, type LoadedBundle } from '../../src/core/bundle'
import { RemoteSession } from '../../src/core/session/remote/remote-session'
import { portChannel } from '../../src/core/session/remote/wire'
import { parseAdapterFrame } from '../../src/shared/frames'
import { PostMessageNetworkAdapter } from '../../src/shared/postmessage-adapter'
import type { Session } from '../../src/core/session/session'
import type { Logger } from '../../src/shared/log'
import { repoRoot } from '../helpers/cli'
import { assertIsolated } from '../helpers/ensure-isolated'
import { startTestSession } from '../helpers/sessions'
import { until } from '../helpers/until'

const workerFile = join(repoRoot, 'out', 'engine-worker.cjs')

describe('RemoteSession: the engine on a worker thread', function () {
  this.timeout(60_000)
  let dir: string
  let bundle: LoadedBundle
  const sessions: Session[] = []
  const remotes: RemoteSession[] = []

  const openRemote = async (name: string, extra: { dataDir?: string; workerFile?: string; logger?: Logger } = {}) => {
    const r = await RemoteSession.open(bundle, {
      dataDir: extra.dataDir ?? join(dir, name),
      bindAddr: '127.0.0.1:0',
      control: false,
      peerName: name,
      discovery: { mdns: false, exchange: false },
      workerFile: extra.workerFile ?? workerFile,
      ...(extra.logger && { logger: extra.logger }),
    })
    remotes.push(r)
    return r
  }

  before(async () => {
    assertIsolated()
    assert.ok(existsSync(workerFile), `${workerFile} is missing: run npm run build`)
    dir = mkdtempSync(join(tmpdir(), 'tonk-remote-'))
    bundle = await loadBundle((await packDirectory(join(repoRoot, 'examples', 'my-world'))).zip)
  })
  after(async () => {
    await Promise.all([...remotes.splice(0).map((r) => r.stop()), ...sessions.splice(0).map((s) => s.stop())])
    rmSync(dir, { recursive: true, force: true })
  })

  it('connects to a Session in this thread; snapshots, events, offline and the mirror Repo cross', async () => {
    const local = await startTestSession(bundle, dir, sessions, 'local')
    const remote = await openRemote('remote')
    const states: string[] = []
    remote.on('state', (s) => states.push(s))
    let changed = 0
    remote.on('changed', () => changed++)
    await remote.start()
    assert.equal(remote.state, 'running')
    assert.deepEqual(states, ['starting', 'running'])
    assert.match(remote.endpointId ?? '', /^[0-9a-f]{64}$/)
    assert.equal(remote.peerName, 'remote')

    // An event crosses once a listener here asks for it (after start too).
    let traced = 0
    remote.on('trace', () => traced++)
    await remote.dial(local.ticket!)
    await until('the remote session connected', async () => (await remote.peers()).some((p) => p.state === 'connected' && p.endpointId === local.endpointId))
    const snap = await remote.snapshot()
    assert.equal(snap.state, 'running')
    assert.equal(snap.bundle.bundleId, bundle.bundleId)
    await until('changed events arrived', () => changed > 0)
    await until('trace events arrived', () => traced > 0)

    // A document of the other peer, opened on the host: through the engine's Repo, and edits go back.
    const handle = local.repo.create<{ n: number }>({ n: 1 })
    const mirror = await remote.mirror()
    const seen = await mirror.find<{ n: number }>(handle.url as AutomergeUrl)
    assert.equal(seen.doc()?.n, 1)
    seen.change((d) => {
      d.n = 2
    })
    await until('the host edit reached the other peer', () => handle.doc()?.n === 2)
    assert.equal(await remote.pathOf(handle.url), undefined, 'not in the tree')

    await remote.goOffline()
    assert.equal(remote.online, false)
    await until('the other side saw it go', () => !local.peers().some((p) => p.state === 'connected'))
    await remote.goOnline()
    assert.equal(remote.online, true)

    await remote.stop()
    assert.equal(remote.state, 'stopped')
    await assert.rejects(remote.snapshot(), (e: Error & { code?: string }) => e.code === 'E_NOT_RUNNING')
  })

  it('a Repo of the host attached through a port, the root for a page, a VFS site and hot reload', async () => {
    const remote = await openRemote('pages')
    await remote.start()
    // A page's Repo (as the preview's, relayed by the host): it reaches what the engine holds.
    const url = await remote.writeDoc('/app/index.html', { value: '<h1>hello</h1>' })
    const { port, detach } = remote.attach('page')
    const pageAdapter = new PostMessageNetworkAdapter(portChannel(port, parseAdapterFrame))
    const page = new Repo({ network: [pageAdapter], isEphemeral: true })
    const peerId = await pageAdapter.whenPeer()
    await until('the engine sees the page', async () => (await remote.call('repoPeers')).includes(page.peerId))
    const handle = await page.find<unknown>(url as AutomergeUrl)
    assert.match(JSON.stringify(handle.doc()), /<h1>hello<\/h1>/)
    assert.ok(peerId)
    detach()
    await until('the page peer left the engine', async () => !(await remote.call('repoPeers')).includes(page.peerId))
    await page.shutdown()

    const root = await remote.call('rootSnapshot')
    assert.match(root.url, /^automerge:/)
    assert.ok(root.bytes && root.bytes.byteLength > 0, 'the root saved for a page')

    const site = await remote.call('previewSite', ['/nowhere', 'app'], join(dir, 'site'))
    assert.ok(site, 'the app folder is a site')
    assert.equal(site.entry, '/app/index.html')
    assert.match(readFileSync(join(site.dir, 'index.html'), 'utf8'), /hello/)
    assert.equal(await remote.call('siteKey', '/app'), site.key)
    await remote.writeDoc('/app/index.html', { value: '<h1>changed</h1>' })
    assert.notEqual(await remote.call('siteKey', '/app'), site.key, 'a change makes a new key')

    await remote.reloadBundle(bundle)
    assert.equal(remote.bundle, bundle)
    assert.equal((await remote.snapshot()).state, 'running')
    await remote.stop()
    assert.throws(() => remote.attach('late'), (e: Error & { code?: string }) => e.code === 'E_NOT_RUNNING')
  })

  it("the engine's typed errors keep their code: a data dir another session holds is E_DATA_DIR_LOCKED", async () => {
    const first = await openRemote('owner', { dataDir: join(dir, 'shared') })
    await first.start()
    const second = await openRemote('second', { dataDir: join(dir, 'shared') })
    await assert.rejects(second.start(), (e: Error & { code?: string }) => e.code === 'E_DATA_DIR_LOCKED' && /in use/.test(e.message))
    assert.equal(second.state, 'failed')
    assert.equal(first.state, 'running')
    await first.stop()
  })

  it('a promise rejection nobody handles in the engine is logged, and the session keeps running', async () => {
    const errors: string[] = []
    const quiet = () => {}
    const logger: Logger = { debug: quiet, info: quiet, warn: quiet, error: (m: string) => errors.push(m) }
    const remote = await openRemote('stray', { workerFile: join(repoRoot, 'test', 'helpers', 'stray-rejection-worker.cjs'), logger })
    let failed = false
    remote.on('state', (s) => (failed ||= s === 'failed'))
    await remote.start()
    await until('the rejection was logged', () => errors.some((e) => /unhandled rejection \(kept running\).*a stray rejection/s.test(e)), 10_000)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(failed, false, 'the worker went on')
    assert.equal(remote.state, 'running')
    assert.equal((await remote.snapshot()).state, 'running', 'the engine still answers')
  })
})
