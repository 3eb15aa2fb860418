// A peer's data dir: one per bundle and peer (identity, storage, control socket). Exactly one process
// owns it at a time, enforced by a lock file holding the owner's pid; a lock whose process is gone
// (kill -9, power cut) is stale and taken over.
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeJsonReplacing } from './write-replace'

export class DataDirError extends Error {
  constructor(
    readonly code: 'E_DATA_DIR_LOCKED' | 'E_DATA_DIR_OTHER_BUNDLE',
    message: string,
  ) {
    super(message)
  }
}

export const dataDirFiles = (dir: string) => ({
  lock: join(dir, 'lock'),
  info: join(dir, 'session.json'),
  control: join(dir, 'control.sock'),
  storage: join(dir, 'storage'),
  knownPeers: join(dir, 'known-peers.json'),
})

/** What a data dir says about the peer that last ran there; `doc` and `ticket` read it. */
export interface DataDirInfo {
  bundleId: string
  name: string
  version: string
  namespace: string
  rootDocumentId: string
  endpointId: string
  ticket: string
  /** The UDP port the endpoint was bound to; reused at the next start so tickets stay valid. */
  port?: number
  peerName: string
  pid: number
  startedAt: string
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes the data dir's lock or throws E_DATA_DIR_LOCKED naming the process that holds it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true })
  const { lock } = dataDirFiles(dir)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(lock, 'wx', 0o600)
      await fh.writeFile(String(process.pid))
      await fh.close()
      return async () => {
        await rm(lock, { force: true }).catch(() => {})
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim())
      if (holder && holder !== process.pid && alive(holder)) {
        throw new DataDirError('E_DATA_DIR_LOCKED', `data dir ${dir} is in use by process ${holder}; stop it or use another --data`)
      }
      await rm(lock, { force: true })
    }
  }
  throw new DataDirError('E_DATA_DIR_LOCKED', `could not lock data dir ${dir}`)
}

export async function readDataDirInfo(dir: string): Promise<DataDirInfo | undefined> {
  try {
    return JSON.parse(await readFile(dataDirFiles(dir).info, 'utf8')) as DataDirInfo
  } catch {
    return undefined
  }
}

export async function writeDataDirInfo(dir: string, info: DataDirInfo): Promise<void> {
  await writeJsonReplacing(dataDirFiles(dir).info, info)
}
