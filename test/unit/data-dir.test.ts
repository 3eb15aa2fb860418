// A data dir is owner-only: directories 0700, files 0600 (identity.key, session.json, known-peers.json,
// the lock, the documents), whatever the umask; an older data dir that others could read is tightened
// when it is opened, without following symlinks out of it.
import assert from 'node:assert/strict'
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dataDirFiles, ensurePrivateDataDir, lockDataDir, writeDataDirInfo, type DataDirInfo } from '../../src/core/host/data-dir'
import { CrashSafeStorageAdapter } from '../../src/core/store/storage'
import { writeKnownPeers } from '../../src/core/host/known-peers'
import type { Logger } from '../../src/shared/log'
import { loadOrCreateSecretKey } from '../../src/core/net/endpoint'

const mode = async (path: string) => (await lstat(path)).mode & 0o777

/** Every entry under `dir` (itself included) with its mode, symlinks left out; directories in `dirs`. */
async function modes(dir: string, dirs = new Set<string>()): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  const walk = async (path: string, rel: string) => {
    const st = await lstat(path)
    if (st.isSymbolicLink()) return
    out[rel] = st.mode & 0o777
    if (st.isDirectory()) dirs.add(rel)
    if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name), rel ? `${rel}/${name}` : name)
  }
  await walk(dir, '')
  return out
}

const info: DataDirInfo = {
  bundleId: 'b',
  name: 'n',
  version: '1',
  namespace: 'ns',
  rootDocumentId: 'r',
  endpointId: 'e',
  ticket: 't',
  peerName: 'p',
  pid: process.pid,
  startedAt: new Date().toISOString(),
}

describe('data dir: owner-only modes', () => {
  let base: string
  const umask = process.umask()
  before(() => process.umask(0o022)) // the usual umask, under which the old code made 0755 / 0644
  after(() => process.umask(umask))
  beforeEach(async () => (base = await mkdtemp(join(tmpdir(), 'tonk-datadir-'))))
  afterEach(() => rm(base, { recursive: true, force: true }))

  it('a new data dir and everything a peer writes in it: directories 0700, files 0600', async () => {
    const dir = join(base, 'peer')
    const unlock = await lockDataDir(dir)
    await loadOrCreateSecretKey(dir)
    await writeDataDirInfo(dir, info)
    await writeKnownPeers(dataDirFiles(dir).knownPeers, [])
    const storage = new CrashSafeStorageAdapter(dataDirFiles(dir).storage)
    await storage.save(['3xYm8vFjA2hTqKc9RbPnLzW4dE1', 'snapshot', 'abc'], new Uint8Array([1, 2, 3]))
    const dirs = new Set<string>()
    const all = await modes(dir, dirs)
    await unlock()
    for (const name of ['identity.key', 'session.json', 'known-peers.json', 'lock']) assert.equal(all[name], 0o600, name)
    assert.ok(Object.keys(all).some((k) => k.startsWith('storage/') && k.split('/').length > 3), 'storage wrote nested files')
    for (const [name, m] of Object.entries(all)) assert.equal(m, dirs.has(name) ? 0o700 : 0o600, `${name || '(data dir)'}: ${m.toString(8)}`)
  })

  it('an existing data dir others can read is tightened on open, without following symlinks out of it', async () => {
    const dir = join(base, 'old')
    await mkdir(join(dir, 'storage', 'ab', 'cdef'), { recursive: true, mode: 0o755 })
    for (const file of ['identity.key', 'session.json', 'known-peers.json', 'storage/ab/cdef/x.v']) {
      await writeFile(join(dir, file), 'x', { mode: 0o644 })
    }
    await chmod(join(dir, 'identity.key'), 0o400) // owner bits are kept, only group/other go
    const outside = join(base, 'outside.txt')
    await writeFile(outside, 'not ours', { mode: 0o644 })
    await symlink(outside, join(dir, 'link'))
    const warnings: string[] = []
    const log: Logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} } as unknown as Logger
    const unlock = await lockDataDir(dir, log)
    await unlock()
    const all = await modes(dir)
    assert.equal(all[''], 0o700)
    assert.equal(all['storage'], 0o700)
    assert.equal(all['storage/ab/cdef'], 0o700)
    assert.equal(all['storage/ab/cdef/x.v'], 0o600)
    assert.equal(all['session.json'], 0o600)
    assert.equal(all['identity.key'], 0o400)
    assert.equal(await mode(outside), 0o644, 'a symlink target outside the data dir is not touched')
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /made it owner-only/)
    // Already tight: nothing to say the second time.
    assert.equal(await ensurePrivateDataDir(dir), false)
  })
})
