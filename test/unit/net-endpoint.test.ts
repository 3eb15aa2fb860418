// Identity files and ticket parsing; no sockets are bound here.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDENTITY_FILE, loadOrCreateSecretKey, makeTicket, parseDialTarget } from '../../src/core/net/endpoint'
import { EndpointAddr, SecretKey } from '../../src/core/net/iroh'

describe('net/endpoint', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tonk-net-id-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('creates identity.key once (0600) and returns the same key afterwards', async () => {
    const a = await loadOrCreateSecretKey(join(dir, 'peer'))
    const b = await loadOrCreateSecretKey(join(dir, 'peer'))
    assert.equal(a.length, 32)
    assert.deepEqual(a, b)
    const path = join(dir, 'peer', IDENTITY_FILE)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/)
    assert.deepEqual(readdirSync(join(dir, 'peer')), [IDENTITY_FILE], 'no temp files left behind')
  })

  it('gives racing creators one identity', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecretKey(dir)))
    for (const k of keys) assert.deepEqual(k, keys[0])
  })

  it('refuses a corrupt identity file instead of replacing it', async () => {
    writeFileSync(join(dir, IDENTITY_FILE), 'not a key')
    await assert.rejects(loadOrCreateSecretKey(dir), { code: 'E_IDENTITY_CORRUPT' })
    assert.equal(readFileSync(join(dir, IDENTITY_FILE), 'utf8'), 'not a key')
  })

  it('parses tickets and id@addr targets, and explains bad ones', () => {
    const id = SecretKey.generate().public()
    const addr = new EndpointAddr(id, null, ['127.0.0.1:4000'])
    const ticket = makeTicket(addr)
    assert.match(ticket, /^endpoint/)
    assert.equal(parseDialTarget(ticket).id().toString(), id.toString())
    assert.deepEqual(parseDialTarget(ticket).directAddresses(), ['127.0.0.1:4000'])
    const manual = parseDialTarget(`${id.toString()}@127.0.0.1:4000,[::1]:4001`)
    assert.deepEqual(manual.directAddresses().sort(), ['127.0.0.1:4000', '[::1]:4001'].sort())
    assert.throws(() => parseDialTarget('endpointzzzz'), { code: 'E_BAD_TICKET' })
    assert.throws(() => parseDialTarget('hello'), { code: 'E_BAD_TICKET' })
    assert.throws(() => parseDialTarget('abc@127.0.0.1:1'), (e: Error) => /cannot read/.test(e.message) && !/\n/.test(e.message))
  })
})
