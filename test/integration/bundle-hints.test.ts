// The bundle's own bootstrap peers (sync.discovery.bootstrapPeers) go through
// SessionOptions.approveBundleHints: only what it returns is dialed, after it answers (a person may take
// a while), and only while that session still runs. Without the option (the CLI) they are dialed at
// start and each one is logged. Real Sessions over iroh on loopback.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadBundle, packDirectory, type LoadedBundle } from '../../src/core/bundle'
import type { BundleHint } from '../../src/core/bundle/hints'
import type { Logger } from '../../src/shared/log'
import { EndpointAddr, EndpointTicket, SecretKey } from '../../src/core/net/iroh'
import { Session, type SessionOptions } from '../../src/core/session/session'
import { spawn } from 'node:child_process'
import { cliBin, repoRoot } from '../helpers/cli'
import { startTestSession } from '../helpers/sessions'
import { assertIsolated } from '../helpers/ensure-isolated'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

const freeUdpPort = () =>
  new Promise<number>((resolve) => {
    const s = createSocket('udp4')
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })

describe('engine: the bundle\'s bootstrap peers need approval', function () {
  this.timeout(60000)
  let dir: string
  let bundle: LoadedBundle
  let aEndpointId: string
  let aAddr: string
  const sessions: Session[] = []
  const start = (name: string, options: Partial<SessionOptions> = {}) => startTestSession(bundle, dir, sessions, name, options)
  let a: Session | undefined
  const seesA = async (s: Session) =>
    (await s.snapshot()).peers.some((p) => p.endpointId === aEndpointId && p.state === 'connected' && p.source === 'bootstrap')
  const dialedA = async (s: Session) => (await s.snapshot()).peers.some((p) => p.endpointId === aEndpointId)

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-hints-'))
    // A's identity and port are fixed beforehand, so its ticket can go into the bundle it serves.
    const secret = SecretKey.generate()
    mkdirSync(join(dir, 'a'), { recursive: true })
    writeFileSync(join(dir, 'a', 'identity.key'), Buffer.from(secret.toBytes()).toString('hex') + '\n')
    aEndpointId = secret.public().toString()
    aAddr = `127.0.0.1:${await freeUdpPort()}`
    const src = join(dir, 'src')
    cpSync(join(repoRoot, 'examples', 'my-world'), src, { recursive: true })
    const manifest = JSON.parse(readFileSync(join(src, 'tonk.json'), 'utf8'))
    manifest.sync.discovery.bootstrapPeers = [EndpointTicket.fromAddr(new EndpointAddr(secret.public(), null, [aAddr])).toString()]
    writeFileSync(join(src, 'tonk.json'), JSON.stringify(manifest, null, 2))
    bundle = await loadBundle((await packDirectory(src)).zip)
    // One A for every test (its fixed port is not free again at once after a stop).
    a = await start('a', { bindAddr: aAddr, approveBundleHints: () => [] })
    sessions.length = 0
  })
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()))
  })
  after(async () => {
    await a?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('refused: the peer is not dialed; the callback saw its id and address', async () => {
    const asked: BundleHint[][] = []
    const b = await start('b-refuse', { approveBundleHints: (hints) => (asked.push(hints), []) })
    await sleep(2000)
    assert.equal(await dialedA(b), false, 'dialed a refused bootstrap peer')
    assert.equal(asked.length, 1)
    assert.equal(asked[0]!.length, 1)
    assert.equal(asked[0]![0]!.endpointId, aEndpointId)
    assert.deepEqual(asked[0]![0]!.addresses, [aAddr])
  })

  it('approved after a while: dialed then, and connects with source "bootstrap"', async () => {
    const b = await start('b-approve', { approveBundleHints: async (hints) => (await sleep(500), hints) })
    assert.equal(await dialedA(b), false, 'dialed before the answer')
    await until('b connected to a via bootstrap', () => seesA(b))
  })

  it('a callback that throws dials nothing; the session keeps running', async () => {
    const b = await start('b-throw', {
      approveBundleHints: () => {
        throw new Error('no')
      },
    })
    await sleep(1500)
    assert.equal(await dialedA(b), false)
    assert.equal(b.state, 'running')
  })

  it('answered after the session stopped: nothing is dialed, nothing throws', async () => {
    let answer!: (h: readonly BundleHint[]) => void
    const b = await start('b-late', { approveBundleHints: (hints) => new Promise((r) => (answer = () => r(hints))) })
    await b.stop()
    answer([])
    await sleep(200)
    assert.equal(b.state, 'stopped')
  })

  it('without the option (the CLI): dialed at start, and logged with id and address', async () => {
    const lines: string[] = []
    const logger: Logger = { debug() {}, info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) }
    const b = await start('b-cli', { logger })
    await until('b connected to a via bootstrap', () => seesA(b))
    assert.ok(lines.some((l) => l.includes('dialing bootstrap peer') && l.includes(aEndpointId.slice(0, 10)) && l.includes(aAddr)), lines.join('\n'))
  })

  it('tonk-p2p serve --no-bootstrap-peers (the extension\'s local peers): says so and does not dial', async () => {
    const zip = join(dir, 'bundle.zip')
    writeFileSync(zip, (await packDirectory(join(dir, 'src'))).zip)
    const incoming: string[] = []
    const before = new Set((await a!.snapshot()).peers.map((p) => p.endpointId))
    const child = spawn(process.execPath, [cliBin, '--json', 'serve', zip, '--data', join(dir, 'cli-no-boot'), '--bind', '127.0.0.1:0', '--no-mdns', '--no-exchange', '--no-bootstrap-peers'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    try {
      await until('the ready event', () => out.includes('"event":"ready"'))
      const ready = JSON.parse(out.split('\n').find((l) => l.includes('"event":"ready"'))!)
      assert.deepEqual(ready.bootstrapPeers, [{ endpointId: aEndpointId, addresses: [aAddr], dialed: false }])
      await sleep(2000)
      for (const p of (await a!.snapshot()).peers) if (!before.has(p.endpointId)) incoming.push(p.endpointId)
      assert.deepEqual(incoming, [], 'a got a connection from the CLI peer')
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('close', r))
    }
  })
})
