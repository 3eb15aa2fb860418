// Child process of the crash test: opens a bundle repo on DIR (the production path: createBundleRepo +
// DocTree over CrashSafeStorageAdapter) and appends values to /crash/log in bursts. After each burst
// it awaits repo.flush() — automerge-repo saves on a throttle, flush() resolves once our storage has
// fsynced and renamed the chunks — and only then prints `ACK <value>` for each value of the burst.
// The parent kills it with SIGKILL at a random moment. Values are `<pid>:<i>`, unique across runs.
// Usage: node --import tsx test/helpers/docs-crash-writer.ts DIR
import { randomBytes } from 'node:crypto'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { DocTree } from '../../src/shared/vfs/doc-tree'
import { createBundleRepo } from '../../src/core/store/repo'

export const CRASH_NAMESPACE = 'crash-test'
export const CRASH_LOG_PATH = '/crash/log'

export interface CrashLog {
  values: string[]
  padding: string[]
}

async function main(dataDir: string) {
  process.stdout.write('OPENING\n')
  const { repo, root } = await createBundleRepo({
    dataDir,
    network: [],
    rootDocumentId: rootDocumentId(CRASH_NAMESPACE),
    rootDocumentBytes: await createRootDocumentBytes(CRASH_NAMESPACE),
  })
  const tree = new DocTree(repo, root)
  if (!(await tree.readDoc<CrashLog>(CRASH_LOG_PATH))) {
    await tree.writeDoc<CrashLog>(CRASH_LOG_PATH, { values: [], padding: [] })
    await repo.flush()
  }
  process.stdout.write('READY\n')
  let i = 0
  for (;;) {
    const burst: string[] = []
    const size = 1 + Math.floor(Math.random() * 5)
    for (let k = 0; k < size; k++) {
      const value = `${process.pid}:${i++}`
      burst.push(value)
      await tree.changeDoc<CrashLog>(CRASH_LOG_PATH, (d) => {
        d.values.push(value)
        // Some bulk so documents cross automerge-repo's compaction thresholds now and then.
        if (Math.random() < 0.3) d.padding.push(randomBytes(200).toString('base64'))
      })
    }
    await repo.flush()
    process.stdout.write(burst.map((v) => `ACK ${v}\n`).join(''))
    if (Math.random() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const dir = process.argv[2]
  if (!dir) {
    console.error('usage: docs-crash-writer.ts DIR')
    process.exit(2)
  }
  main(dir).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
