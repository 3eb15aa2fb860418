import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeControlServer, connectControl, ControlError, startControlServer } from '../../src/core/control'

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
})
