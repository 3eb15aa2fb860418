// Crash test: a writer process appends to a document through createBundleRepo + DocTree on the
// crash-safe storage and prints `ACK v` once v is acknowledged (repo.flush() resolved). We SIGKILL it
// at random moments, restart it on the same directory, and at the end every acknowledged value must be
// in the document and the storage must hold no corrupt file.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { DocTree } from '../../src/shared/vfs/doc-tree'
import { createBundleRepo } from '../../src/core/store/repo'
import { CrashSafeStorageAdapter } from '../../src/core/store/storage'
import { CRASH_LOG_PATH, CRASH_NAMESPACE, type CrashLog } from '../helpers/docs-crash-writer'

const ROUNDS = 22
const writer = join(import.meta.dirname, '..', 'helpers', 'docs-crash-writer.ts')

interface RoundResult {
  acked: string[]
  sawReady: boolean
  stderr: string
}

/** Runs the writer once and kills it `killAfterMs` after it prints `mark` (OPENING or READY). */
function runRound(dataDir: string, killAfterMs: number, mark: 'OPENING' | 'READY'): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-deprecation', writer, dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acked: string[] = []
    let sawReady = false
    let stderr = ''
    let pending = ''
    let timer: NodeJS.Timeout | undefined
    const kill = () => child.kill('SIGKILL')
    // A writer that never gets ready must not hang the test.
    const guard = setTimeout(kill, 15_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        if (line === mark) timer ??= setTimeout(kill, killAfterMs)
        if (line === 'READY') sawReady = true
        else if (line.startsWith('ACK ')) acked.push(line.slice(4))
      }
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(guard)
      // A line cut off by the kill was never fully printed: not acknowledged.
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (${code}): ${stderr}`))
      resolve({ acked, sawReady, stderr })
    })
  })
}

describe('docs storage: crash test (SIGKILL during writes)', function () {
  this.timeout(120_000)
  let dir: string
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'tonk-crash-'))))
  after(() => rm(dir, { recursive: true, force: true }))

  it(`keeps every acknowledged value across ${ROUNDS} kills`, async () => {
    const acked: string[] = []
    let killedBeforeReady = 0
    for (let round = 0; round < ROUNDS; round++) {
      // Most kills land mid-burst; every fourth lands while the repo opens (loading, root import, first flush).
      const early = round % 4 === 3
      const result = await runRound(dir, early ? Math.random() * 300 : Math.random() * 700, early ? 'OPENING' : 'READY')
      if (!result.sawReady) killedBeforeReady++
      acked.push(...result.acked)
    }

    const storage = new CrashSafeStorageAdapter(join(dir, 'storage'))
    const scrub = await storage.scrub()
    const { repo, root, close } = await createBundleRepo({
      dataDir: dir,
      network: [],
      rootDocumentId: rootDocumentId(CRASH_NAMESPACE),
      rootDocumentBytes: await createRootDocumentBytes(CRASH_NAMESPACE),
    })
    const log = await new DocTree(repo, root).readDoc<CrashLog>(CRASH_LOG_PATH)
    const present = new Set(log?.values ?? [])
    const lost = acked.filter((v) => !present.has(v))
    await close()
    console.log(
      `      crash test: ${ROUNDS} rounds (${killedBeforeReady} killed before ready), ${acked.length} acknowledged, ` +
        `${present.size} in the document, ${lost.length} lost, ${scrub.values} stored values, ${scrub.corrupt.length} corrupt`,
    )
    assert.ok(acked.length > 50, `too few acknowledged writes to mean anything (${acked.length})`)
    assert.deepEqual(lost, [])
    assert.deepEqual(scrub.corrupt, [])
  })
})
