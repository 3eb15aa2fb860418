// `serve --stop-with-stdin`: a peer started by a supervisor (the extension's local peers) ends when the
// supervisor dies without stopping it — here SIGKILLed, as a crashed extension host would be — because
// the OS closes the supervisor's end of the peer's stdin pipe.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { assertIsolated } from '../helpers/ensure-isolated'
import { cliBin, repoRoot, runCli } from '../helpers/cli'
import { until } from '../helpers/until'

/** Running, not ended: a re-parented peer that exited may linger as a zombie until its new parent reaps it. */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return false
  }
}

describe('serve --stop-with-stdin: a supervisor that dies takes its peer with it', function () {
  this.timeout(90000)
  let dir: string
  let bundle: string

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-stdin-'))
    bundle = join(dir, 'my-world.zip')
    const r = await runCli(['pack', join(repoRoot, 'examples', 'my-world'), '-o', bundle])
    assert.equal(r.code, 0, r.stderr)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** A supervisor process that starts one peer with a stdin pipe (its stdout to a file, so only stdin ties them). */
  async function supervise(label: string, flags: string[], stdout: 'file' | 'pipe' = 'file'): Promise<{ supervisor: number; peer: number }> {
    const out = join(dir, `${label}.out`)
    const err = join(dir, `${label}.err`)
    const args = [cliBin, '--json', 'serve', bundle, '--data', join(dir, label), '--bind', '127.0.0.1:0', '--no-mdns', ...flags]
    const script = `
      const { spawn } = require('node:child_process')
      const { openSync } = require('node:fs')
      const out = openSync(${JSON.stringify(out)}, 'w')
      const peer = spawn(process.execPath, ${JSON.stringify(args)}, { stdio: ['pipe', ${stdout === 'pipe' ? "'pipe'" : 'out'}, openSync(${JSON.stringify(err)}, 'w')] })
      console.log(JSON.stringify({ peer: peer.pid }))
      // Piped: the supervisor copies the peer's stdout to the file, and the pipe breaks when it dies.
      peer.stdout?.on('data', (d) => require('node:fs').writeSync(out, d))
      setInterval(() => {}, 1000)`
    const supervisor = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: supervisor.stdout! }).once('line', resolve)
      supervisor.once('exit', () => reject(new Error('the supervisor ended before it started its peer')))
    })
    await until('the peer to be ready', () => existsSync(out) && readFileSync(out, 'utf8').includes('"event":"ready"'), 30000)
    return { supervisor: supervisor.pid!, peer: (JSON.parse(line) as { peer: number }).peer }
  }

  it('the peer exits within seconds of its supervisor being killed', async () => {
    const { supervisor, peer } = await supervise('flag', ['--stop-with-stdin'])
    assert.ok(alive(peer))
    process.kill(supervisor, 'SIGKILL')
    await until('the peer to end with its killed supervisor', () => !alive(peer), 15000)
    assert.match(readFileSync(join(dir, 'flag.out'), 'utf8'), /"event":"stopped"/, 'the peer stopped, not crashed')
  })

  it('with its stdout piped to the dead supervisor too, it stops without an EPIPE stack', async () => {
    const { supervisor, peer } = await supervise('piped', ['--stop-with-stdin'], 'pipe')
    process.kill(supervisor, 'SIGKILL')
    await until('the peer to end with its killed supervisor', () => !alive(peer), 15000)
    assert.doesNotMatch(readFileSync(join(dir, 'piped.err'), 'utf8'), /EPIPE|Error/)
  })

  it('without the flag it keeps running (a peer started by hand from a shell is not tied to it)', async () => {
    const { supervisor, peer } = await supervise('no-flag', [])
    process.kill(supervisor, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 3000))
    const stillAlive = alive(peer)
    if (stillAlive) process.kill(peer, 'SIGTERM')
    await until('the peer to stop', () => !alive(peer), 15000)
    assert.ok(stillAlive, 'a peer without --stop-with-stdin ended with its parent')
  })
})
