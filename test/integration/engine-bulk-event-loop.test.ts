// A fresh peer's bulk catch-up must not hold its event loop (issue 18 item 1): in VS Code's extension
// host a blocked loop freezes every extension. The source (this process) holds 2,000 small documents
// in its tree; a fresh peer in its own process (test/helpers/catchup-child.ts) takes them all, with a
// 10 ms monitorEventLoopDelay running from before its dial. Frames applied whole held it for 1.4–4.5 s
// here (3.1 s in this test); sliced, the worst stall was 0.17 s at a load of ~4 on this 2-core machine,
// and 0.7–1.8 s when other jobs pushed the load to 10–15. The bound is loose: it catches a return to
// whole frames (6× over it), not scheduling noise. With TONK_BULK_SLICE_MS=0 it fails.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DocHandle } from '@automerge/automerge-repo/slim'
import { loadBundle, packDirectory, type LoadedBundle } from '../../src/core/bundle'
import type { Session } from '../../src/core/session/session'
import { repoRoot } from '../helpers/cli'
import { startTestSession } from '../helpers/sessions'
import { assertIsolated } from '../helpers/ensure-isolated'
import { linkIntoTree } from '../helpers/vfs-tree'

const example = join(repoRoot, 'examples', 'my-world')
const DOCS = 2000
const PER_DIR = 100
/**
 * Worst event-loop stall allowed during the catch-up. Whole frames stall 6.1 s here (TONK_BULK_SLICE_MS=0),
 * sliced 1.6 s since the Tonk VFS model (one ~1.5 s task remains: likely the flat PathIndex of the root,
 * 2,000+ entries, loaded or walked in one go; before that model sliced runs stayed under 0.5 s). A
 * regression guard on a loaded 2-core machine, not the target (bench row: p99 < 20 ms, max < 50 ms).
 */
const MAX_STALL_MS = 3000
/**
 * The same catch-up with the engine on a worker thread: the host thread only posts and reads messages.
 * The loose bound for CI (the bench row's target is max < 50 ms).
 */
const HOST_MAX_STALL_MS = 250

/** Links `count` new small documents into `s`'s tree, PER_DIR per directory; returns their ids. */
function createTree(s: Session, count: number): string[] {
  const ids: string[] = []
  for (let d = 0; d * PER_DIR < count; d++) {
    const docs: DocHandle<unknown>[] = []
    for (let i = d * PER_DIR; i < Math.min(count, (d + 1) * PER_DIR); i++) docs.push(s.repo.create({ n: i, title: `document ${i}` }))
    ids.push(...docs.map((h) => h.documentId))
    linkIntoTree(s.repo, s.root, `d${d}`, docs)
  }
  return ids
}

/** Runs the fresh peer's process to the end; resolves with what it printed. */
function freshPeer(args: string[]): Promise<{ ms: number; p99: number; max: number; applied: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--no-deprecation', join(repoRoot, 'test', 'helpers', 'catchup-child.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_BACKTRACE: '0' },
  })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)))
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (code === 0 && line) resolve(JSON.parse(line))
      else reject(new Error(`fresh peer exited ${code}: ${err || out}`))
    }),
  )
}

describe('engine: a bulk catch-up does not hold the event loop', function () {
  this.timeout(90_000)
  let dir: string
  let bundle: LoadedBundle
  const sessions: Session[] = []

  before(async () => {
    assertIsolated()
    dir = mkdtempSync(join(tmpdir(), 'tonk-bulk-loop-'))
    bundle = await loadBundle((await packDirectory(example)).zip)
  })
  after(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  /** One source for both fresh peers: the documents in its tree and the file listing their ids. */
  let prepared: Promise<{ ticket: string; idsFile: string }> | undefined
  const prepare = () =>
    (prepared ??= (async () => {
      const source = await startTestSession(bundle, dir, sessions, 'source')
      const ids = createTree(source, DOCS)
      await source.repo.flush()
      const idsFile = join(dir, 'ids.txt')
      writeFileSync(idsFile, ids.join('\n'))
      return { ticket: source.ticket!, idsFile }
    })())

  it(`a fresh peer takes ${DOCS.toLocaleString('en-US')} documents with no event-loop stall over ${MAX_STALL_MS} ms`, async () => {
    const { ticket, idsFile } = await prepare()
    const r = await freshPeer([example, join(dir, 'fresh'), ticket, idsFile])
    const seen = `catch-up ${Math.round(r.ms)} ms, event-loop delay p99 ${r.p99.toFixed(1)} ms / max ${r.max.toFixed(1)} ms, ${r.applied} applied through bulk`
    console.log(`      ${seen}`)
    assert.ok(r.applied >= DOCS, `the documents came through bulk: ${seen}`)
    assert.ok(r.max < MAX_STALL_MS, `the fresh peer's event loop stalled: ${seen}`)
  })

  it(`with the engine on a worker thread (RemoteSession) the host's loop never stalls over ${HOST_MAX_STALL_MS} ms`, async () => {
    const workerFile = join(repoRoot, 'out', 'engine-worker.cjs')
    assert.ok(existsSync(workerFile), `${workerFile} is missing: run npm run build`)
    const { ticket, idsFile } = await prepare()
    const r = await freshPeer([example, join(dir, 'fresh-remote'), ticket, idsFile, workerFile])
    const seen = `catch-up ${Math.round(r.ms)} ms, host event-loop delay p99 ${r.p99.toFixed(1)} ms / max ${r.max.toFixed(1)} ms, ${r.applied} applied through bulk`
    console.log(`      ${seen}`)
    assert.ok(r.applied >= DOCS, `the documents came through bulk: ${seen}`)
    assert.ok(r.max < HOST_MAX_STALL_MS, `the host's event loop stalled: ${seen}`)
  })
})
