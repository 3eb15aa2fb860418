// What a real `tonk-p2p serve` leaves on disk and accepts locally: its data dir is owner-only (and an
// older, looser one is tightened when serve opens it), its control socket holds up against a flood of
// connections, an oversized line of multi-byte characters and garbage, and a DHT record signed by one
// peer but carrying another endpoint's ticket is never dialed. All on loopback in the test's namespace.
import { loadBundle } from '../../src/core/bundle'
import { appCapability, deriveKey } from '../../src/core/bundle/capability'
import assert from 'node:assert/strict'
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createConnection, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectControl } from '../../src/core/host/control'
import { DhtSource } from '../../src/core/discovery/dht'
import type { DiscoveryContext } from '../../src/core/discovery/types'
import { noopLogger } from '../../src/shared/log'
import { EndpointAddr, EndpointId, EndpointTicket, SecretKey } from '../../src/core/net/iroh'
import { assertIsolated } from '../helpers/ensure-isolated'
import { repoRoot, runCli } from '../helpers/cli'
import { PeerProcess } from '../helpers/peers'
import { figure } from './summary'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Mode of every entry under `dir` (itself as '.'), symlinks left out. */
function modes(dir: string): Map<string, { mode: number; kind: 'dir' | 'file' | 'socket' }> {
  const out = new Map<string, { mode: number; kind: 'dir' | 'file' | 'socket' }>()
  const walk = (path: string, rel: string) => {
    const st = lstatSync(path)
    if (st.isSymbolicLink()) return
    out.set(rel, { mode: st.mode & 0o777, kind: st.isDirectory() ? 'dir' : st.isSocket() ? 'socket' : 'file' })
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name), rel === '.' ? name : `${rel}/${name}`)
  }
  walk(dir, '.')
  return out
}

function loosen(path: string): void {
  const st = lstatSync(path)
  if (st.isSymbolicLink() || st.isSocket()) return
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644)
  if (st.isDirectory()) for (const name of readdirSync(path)) loosen(join(path, name))
}

const connect = (path: string) =>
  new Promise<Socket>((resolve, reject) => {
    const s = createConnection(path)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })

/** Sends one line on a new connection and collects what comes back until the server closes or `ms` pass. */
async function exchange(path: string, line: string | Buffer, ms = 5000): Promise<string> {
  const s = await connect(path)
  let got = ''
  s.setEncoding('utf8').on('data', (d: string) => (got += d))
  s.on('error', () => {})
  s.write(line)
  await Promise.race([new Promise((r) => s.once('close', r)), sleep(ms)])
  s.destroy()
  return got
}

describe('security: data dir, control socket and DHT records of a real serve', function () {
  this.timeout(120_000)
  let dir: string
  let bundle: string
  const peers: PeerProcess[] = []
  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-sec-local-'))
    bundle = join(dir, 'my-world.zip')
    assert.equal((await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])).code, 0)
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })
  const start = async (name: string, args: string[] = ['--no-mdns'], connect?: string[]) => {
    const p = await PeerProcess.start({ bundle, dataDir: join(dir, name), name, args, connect })
    peers.push(p)
    return p
  }

  it('data dir: directories 0700, files 0600, the control socket 0600; an older 0755/0644 one is tightened when serve opens it', async () => {
    const b = await start('b')
    const a = await start('a', ['--no-mdns'], [b.ticket])
    await a.waitFor((e) => e.event === 'peer-connected' && e.peer.endpointId === b.endpointId)
    assert.equal((await a.doc(['put', '/notes/private', JSON.stringify({ secret: true })])).code, 0)
    await sleep(300) // known-peers.json is written after the connection
    const check = (when: string) => {
      const all = modes(join(dir, 'a'))
      for (const name of ['identity.key', 'session.json', 'known-peers.json', 'lock', 'control.sock']) assert.ok(all.has(name), `${when}: ${name} exists`)
      const wrong = [...all].filter(([, e]) => e.mode !== (e.kind === 'dir' ? 0o700 : 0o600)).map(([n, e]) => `${n} ${e.mode.toString(8)}`)
      assert.deepEqual(wrong, [], `${when}: entries with other modes`)
      return all
    }
    const all = check('fresh')
    figure('security', `a serve's data dir: ${[...all.values()].filter((e) => e.kind === 'dir').length} directories 0700, ${[...all.values()].filter((e) => e.kind !== 'dir').length} files and sockets 0600`)

    // As a data dir made before this version: everything 0755 / 0644. serve tightens it and says so.
    await a.stop()
    loosen(join(dir, 'a'))
    peers.splice(peers.indexOf(a), 1)
    const again = await start('a', ['--no-mdns', '--log-level', 'warn'])
    check('reopened')
    assert.match(again.stderr.join(''), /was readable by other users; made it owner-only/)
  })

  it('control socket: a flood of connections is capped (E_CONTROL_BUSY), oversized multi-byte lines and garbage are refused, serve keeps answering', async () => {
    const c = await start('c')
    const sock = join(dir, 'c', 'control.sock')
    const held: Socket[] = []
    try {
      for (let i = 0; i < 32; i++) held.push(await connect(sock))
      const busy = await exchange(sock, '{"id":1,"method":"status"}\n')
      assert.match(busy, /E_CONTROL_BUSY/)
    } finally {
      for (const s of held) s.destroy()
    }
    await sleep(100)
    // 6 M three-byte characters: under 16 MiB counted in UTF-16 units, 18 MiB in bytes.
    const big = Buffer.from(`{"id":1,"method":"put","params":{"path":"/big","value":{"t":"${'€'.repeat(6 * 1024 * 1024)}"}}}\n`)
    assert.match(await exchange(sock, big, 20000), /E_CONTROL_TOO_LARGE/)
    assert.match(await exchange(sock, 'not json\n{"id":2,"method":"nope"}\n', 1000), /E_CONTROL_JSON[\s\S]*E_CONTROL_METHOD/)
    const get = await c.doc(['ls', '/'])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(c.child.exitCode, null, 'serve is still running')
    figure('security', 'control socket of a real serve: 33rd connection told E_CONTROL_BUSY, an 18 MiB (6 Mi-character) line refused, garbage answered; serve kept answering')
  })

  it('DHT: a record signed by its own key but carrying another endpoint\'s ticket is not dialed; honest records are', async () => {
    // The forger runs the DHT's bootstrap node itself, on a fixed loopback port.
    const forgerKey = SecretKey.generate()
    const forgerId = forgerKey.public().toString()
    const victimId = SecretKey.generate().public().toString()
    const forgedTicket = EndpointTicket.fromAddr(new EndpointAddr(EndpointId.fromString(victimId), null, ['127.0.0.1:9'])).toString()
    // The forger holds the bundle (an insider): it knows the DHT topic derived from the app key.
    const secret = appCapability((await loadBundle(bundle)).manifest.sync).secret
    const context: DiscoveryContext = {
      endpointId: forgerId,
      mdnsKey: deriveKey(secret, 'mdnsTag'),
      dhtKey: deriveKey(secret, 'dhtTopic').toString('hex'),
      mdnsService: '_tonk-sync._udp',
      protocolVersion: '1.0.0',
      addresses: () => ['127.0.0.1:9'],
      ticket: () => forgedTicket,
      secretKey: async () => Uint8Array.from(forgerKey.toBytes()),
      offer: () => {},
      lost: () => {},
      logger: noopLogger,
    }
    const forger = new DhtSource({ bootstrap: [], bindHost: '127.0.0.1' })
    await forger.start(context)
    try {
      const dht = ['--no-mdns', '--no-exchange', '--dht-bootstrap', `127.0.0.1:${forger.port}`]
      const d = await start('d', dht)
      const e = await start('e', dht)
      // Positive control: d and e find each other through the same DHT.
      await d.waitFor((ev) => ev.event === 'peer-connected' && ev.peer.endpointId === e.endpointId, 30_000)
      await sleep(6000) // the refreshes at 2 and 5 s have read every slot, the forger's too
      for (const p of [d, e]) {
        const client = (await connectControl(join(p.options.dataDir, 'control.sock')))!
        const status = await client.call<{ peers: { endpointId: string }[] }>('status')
        client.close()
        const ids = status.peers.map((x) => x.endpointId)
        assert.ok(ids.includes(p === d ? e.endpointId : d.endpointId), `${p.options.name} lists its honest peer: ${JSON.stringify(ids)}`)
        assert.ok(!ids.includes(victimId) && !ids.includes(forgerId), `${p.options.name} never dialed the forged record: ${JSON.stringify(ids)}`)
      }
    } finally {
      await forger.stop()
    }
  })
})
