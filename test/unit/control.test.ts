// The control socket: requests, errors and streams; and its limits: a 0700 directory, lines counted
// in bytes and split without rescanning, a cap on connections, and a client that survives a server
// sending garbage.
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createConnection, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  closeControlServer,
  connectControl,
  ControlError,
  LineSplitter,
  MAX_CONTROL_CONNECTIONS,
  MAX_LINE_BYTES,
  startControlServer,
} from '../../src/core/host/control'
import { controlSocketPath, findControlSocket, MAX_SOCKET_PATH_BYTES, prepareControlSocketPath } from '../../src/core/host/control-path'

const connected = (path: string) =>
  new Promise<Socket>((resolve, reject) => {
    const s = createConnection(path)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })

describe('control socket', () => {
  let dir: string
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'tonk-control-'))))
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('answers requests, reports errors with their code, and streams events', async () => {
    const path = join(dir, 'control.sock')
    const server = await startControlServer(path, {
      echo: async (p) => p,
      fail: async () => {
        throw new ControlError('E_NOPE', 'nope')
      },
      count: async (p: { to: number }, ctx) => {
        for (let i = 1; i <= p.to; i++) ctx.emit(i)
        return 'done'
      },
    })
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const client = (await connectControl(path))!
    assert.deepEqual(await client.call('echo', { a: 1 }), { a: 1 })
    await assert.rejects(client.call('fail'), (e: ControlError) => e.code === 'E_NOPE' && e.message === 'nope')
    await assert.rejects(client.call('missing'), (e: ControlError) => e.code === 'E_CONTROL_METHOD')
    const events: number[] = []
    assert.equal(await client.call('count', { to: 3 }, (e) => events.push(e)), 'done')
    assert.deepEqual(events, [1, 2, 3])
    client.close()
    await closeControlServer(server, path)
    await assert.rejects(stat(path))
  })

  it('returns undefined when no peer listens, so callers fall back to opening storage', async () => {
    assert.equal(await connectControl(join(dir, 'control.sock')), undefined)
  })

  it('survives garbage and oversized lines from a client', async () => {
    const path = join(dir, 'control.sock')
    const server = await startControlServer(path, { echo: async (p) => p })
    const raw = createConnection(path)
    const replies: string[] = []
    raw.setEncoding('utf8').on('data', (d: string) => replies.push(d))
    raw.on('error', () => {}) // the server hangs up mid-write: EPIPE here is expected
    raw.write('not json\n')
    raw.write('x'.repeat(17 * 1024 * 1024))
    await new Promise((r) => raw.on('close', r))
    assert.match(replies.join(''), /E_CONTROL_JSON/)
    assert.match(replies.join(''), /E_CONTROL_TOO_LARGE/)
    const client = (await connectControl(path))!
    assert.deepEqual(await client.call('echo', [1]), [1])
    client.close()
    await closeControlServer(server, path)
  })

  it('lives in a directory closed to other users: refuses to start in a 0755 one (E_CONTROL_DIR)', async () => {
    await chmod(dir, 0o755)
    await assert.rejects(startControlServer(join(dir, 'control.sock'), {}), (e: ControlError) => e.code === 'E_CONTROL_DIR')
    await chmod(dir, 0o700)
    const server = await startControlServer(join(dir, 'control.sock'), {})
    assert.equal((await stat(join(dir, 'control.sock'))).mode & 0o777, 0o600)
    await closeControlServer(server, join(dir, 'control.sock'))
  })

  it('counts the line limit in bytes: a line of 3-byte characters over the limit in bytes is refused', async () => {
    const path = join(dir, 'control.sock')
    const server = await startControlServer(path, { echo: async (p) => p })
    // Under the limit in UTF-16 units (what a string's length counts), over it in UTF-8 bytes.
    const limit = 16 * 1024 * 1024
    const euros = '€'.repeat(Math.ceil(limit / 3) + 1024)
    const client = (await connectControl(path))!
    await assert.rejects(client.call('echo', euros), (e: ControlError) => e.code === 'E_CONTROL_TOO_LARGE')
    client.close()
    assert.equal(MAX_LINE_BYTES, limit)
    assert.ok(euros.length < limit && Buffer.byteLength(euros) > limit)
    await closeControlServer(server, path)
  })

  it('looks at each byte once for newlines, however the line is chunked (no rescans of a growing line)', () => {
    const lines: string[] = []
    let tooLong = 0
    const splitter = new LineSplitter(1 << 20, (l) => lines.push(l), () => tooLong++)
    let total = 0
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.from('x'.repeat(256))
      splitter.push(chunk)
      total += chunk.length
    }
    // A multi-byte character split across two chunks still decodes whole.
    const euro = Buffer.from('€\n{"a":1}\n')
    splitter.push(euro.subarray(0, 1))
    splitter.push(euro.subarray(1))
    total += euro.length
    assert.equal(splitter.scanned, total)
    assert.deepEqual(lines.map((l) => l.length), [2000 * 256 + 1, 7])
    assert.equal(lines[0]!.at(-1), '€')
    assert.equal(tooLong, 0)
    splitter.push(Buffer.alloc((1 << 20) + 1, 0x78))
    assert.equal(tooLong, 1)
  })

  it('refuses an oversized line fast: a reader that rescanned its buffer per chunk took ~9 s here', async () => {
    const path = join(dir, 'control.sock')
    const server = await startControlServer(path, {})
    const raw = await connected(path)
    raw.on('error', () => {})
    let replies = ''
    raw.setEncoding('utf8').on('data', (d: string) => (replies += d))
    const started = Date.now()
    const chunk = 'x'.repeat(64 * 1024)
    for (let sent = 0; sent <= 16 * 1024 * 1024 && !raw.destroyed; sent += chunk.length) {
      if (!raw.write(chunk)) await new Promise((r) => raw.once('drain', r))
      await new Promise((r) => setImmediate(r)) // one chunk per read on the other side
    }
    await new Promise((r) => (raw.closed ? r(undefined) : raw.once('close', r)))
    const ms = Date.now() - started
    assert.match(replies, /E_CONTROL_TOO_LARGE/)
    assert.ok(ms < 3000, `took ${ms} ms`)
    await closeControlServer(server, path)
  })

  it(`serves at most ${MAX_CONTROL_CONNECTIONS} connections at once; the next is told E_CONTROL_BUSY, and a freed slot serves again`, async () => {
    const path = join(dir, 'control.sock')
    const server = await startControlServer(path, { echo: async (p) => p })
    const held: Socket[] = []
    try {
      for (let i = 0; i < MAX_CONTROL_CONNECTIONS; i++) held.push(await connected(path))
      const extra = (await connectControl(path))!
      await assert.rejects(extra.call('echo', 1), (e: ControlError) => e.code === 'E_CONTROL_BUSY')
      extra.close()
      const freed = held.pop()!
      await new Promise<void>((r) => {
        freed.once('close', () => r())
        freed.destroy()
      })
      await new Promise((r) => setTimeout(r, 50)) // the server sees the close
      const again = (await connectControl(path))!
      assert.equal(await again.call('echo', 2), 2)
      again.close()
    } finally {
      for (const s of held) s.destroy()
      await closeControlServer(server, path)
    }
  })

  it('the client survives a server that sends garbage: typed errors, no crash', async () => {
    const path = join(dir, 'fake.sock')
    const replies = ['not json', 'null', '[1]', '{"id":1,"ok":false,"error":5}', `{"id":1,"ok":true,"result":"${'x'.repeat(100)}`]
    let next = 0
    const fake = createServer((socket) => {
      const reply = replies[next++]!
      socket.on('error', () => {})
      socket.once('data', () => socket.write(reply + '\n'))
    })
    await new Promise<void>((r) => fake.listen(path, () => r()))
    try {
      const codes: string[] = []
      for (let i = 0; i < replies.length; i++) {
        const client = (await connectControl(path))!
        const err = await client.call('echo', 1).then(
          () => undefined,
          (e: unknown) => e,
        )
        assert.ok(err instanceof ControlError, `reply ${JSON.stringify(replies[i])}: ${String(err)}`)
        codes.push(err.code)
        // After a protocol failure, calls fail the same way instead of writing to a dead socket.
        if (err.code === 'E_CONTROL_PROTOCOL') await assert.rejects(client.call('echo', 2), (e: ControlError) => e.code === 'E_CONTROL_PROTOCOL')
        client.close()
      }
      assert.deepEqual(codes, ['E_CONTROL_PROTOCOL', 'E_CONTROL_PROTOCOL', 'E_CONTROL_PROTOCOL', 'E_CONTROL', 'E_CONTROL_PROTOCOL'])
    } finally {
      fake.close()
    }
  })
})

describe('control socket path: always fits, found from the data dir', () => {
  let dir: string
  let runtime: string
  const savedRuntime = process.env.XDG_RUNTIME_DIR
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-control-path-'))
    runtime = await mkdtemp(join(tmpdir(), 'rt-'))
    process.env.XDG_RUNTIME_DIR = runtime
  })
  afterEach(async () => {
    if (savedRuntime === undefined) delete process.env.XDG_RUNTIME_DIR
    else process.env.XDG_RUNTIME_DIR = savedRuntime
    await rm(dir, { recursive: true, force: true })
    await rm(runtime, { recursive: true, force: true })
  })

  it('a short data dir keeps control.sock inside it', () => {
    assert.equal(controlSocketPath(join(dir, 'd')), join(dir, 'd', 'control.sock'))
  })

  it('a data dir too long for a Unix socket gets a short socket in a private runtime dir, recorded in session.json', async () => {
    const deep = join(dir, 'globalStorage', 'tonk.tonk-p2p', 'a'.repeat(60), 'my-world-0123456789ab', 'default')
    await mkdir(deep, { recursive: true, mode: 0o700 })
    const path = await prepareControlSocketPath(deep)
    assert.ok(path.startsWith(join(runtime, `tonk-p2p-${process.getuid!()}`)), path)
    assert.ok(Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES, path)
    assert.equal((await stat(join(runtime, `tonk-p2p-${process.getuid!()}`))).mode & 0o777, 0o700)
    const server = await startControlServer(path, { ping: async () => 'pong' })
    try {
      // A client in another environment (no XDG_RUNTIME_DIR) finds it through session.json.
      await writeFile(join(deep, 'session.json'), JSON.stringify({ control: path }))
      delete process.env.XDG_RUNTIME_DIR
      const client = (await connectControl(await findControlSocket(deep)))!
      assert.equal(await client.call('ping', {}), 'pong')
      client.close()
    } finally {
      await closeControlServer(server, path)
    }
  })

  it('refuses a runtime dir that others can enter (E_CONTROL_DIR)', async () => {
    const shared = join(runtime, `tonk-p2p-${process.getuid!()}`)
    await mkdir(shared, { mode: 0o755 })
    await chmod(shared, 0o755)
    const deep = join(dir, 'b'.repeat(100))
    await mkdir(deep, { recursive: true })
    await assert.rejects(prepareControlSocketPath(deep), (err: ControlError) => err.code === 'E_CONTROL_DIR')
  })
})
