// A peer's data dir: one per bundle and peer (identity, storage, control socket). Exactly one process
// owns it at a time (one thread of it, when sessions run on worker threads), enforced by a lock file
// holding the owner's pid (and thread id); a lock whose process is gone (kill -9, power cut) is stale
// and taken over.
// A data dir holds the peer's secret key and every document: it is owner-only, the directories 0700
// and the files 0600. Data dirs made before that (0755 / 0644) are tightened when they are opened.
import { threadId } from 'node:worker_threads'
import { chmod, lstat, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../shared/log'
import { writeJsonReplacing } from '../store/durable-fs'
import { processIsAlive } from '../util/process'

export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

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
  /** The Automerge actors this peer has written with (history names them "you"; peers may ask). */
  actors: join(dir, 'actors.json'),
  /** The manifest.json of the .tonk this data dir was started from (export carries it over). */
  tonkManifest: join(dir, 'tonk-manifest.json'),
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
  /** Where its control socket listens (control-path.ts); absent while none does. */
  control?: string
  peerName: string
  pid: number
  startedAt: string
}


/**
 * Makes the data dir (owner-only), or tightens an existing one that others may read: every directory
 * under it to 0700 and every file to 0600 (owner bits kept, group and other bits removed; symlinks
 * are left alone). Returns whether anything was tightened. A no-op on Windows (no mode bits).
 */
export async function ensurePrivateDataDir(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  if (process.platform === 'win32') return false
  // Checked on the dir itself: a dir this code made is 0700, so only older ones pay for the walk.
  if (((await stat(dir)).mode & 0o077) === 0) return false
  await tightenTree(dir)
  return true
}

async function tightenTree(path: string): Promise<void> {
  const st = await lstat(path)
  if (st.isSymbolicLink()) return
  if ((st.mode & 0o077) !== 0) await chmod(path, st.mode & 0o700)
  if (!st.isDirectory()) return
  for (const name of await readdir(path)) await tightenTree(join(path, name))
}

/**
 * Takes the data dir's lock or throws E_DATA_DIR_LOCKED naming the process that holds it. Makes the
 * data dir owner-only first (see ensurePrivateDataDir), and says so when it had to tighten one.
 */
export async function lockDataDir(dir: string, log?: Logger): Promise<() => Promise<void>> {
  if (await ensurePrivateDataDir(dir)) {
    log?.warn(`data dir ${dir} was readable by other users; made it owner-only (directories 0700, files 0600)`)
  }
  const { lock } = dataDirFiles(dir)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(lock, 'wx', PRIVATE_FILE_MODE)
      await fh.writeFile(threadId === 0 ? String(process.pid) : `${process.pid}:${threadId}`)
      await fh.close()
      return async () => {
        await rm(lock, { force: true }).catch(() => {})
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // "pid", or "pid:thread" from a worker thread (RemoteSession): another thread of this process
      // holds it as surely as another process; a lock of this very thread is one it failed to release.
      const [pid, thread] = (await readFile(lock, 'utf8').catch(() => '')).trim().split(':').map(Number)
      const holder = pid ?? 0
      const ours = holder === process.pid && (thread ?? 0) === threadId
      if (holder && !ours && processIsAlive(holder)) {
        const who = holder === process.pid ? `another thread of this process (${thread ?? 0})` : `process ${holder}`
        throw new DataDirError('E_DATA_DIR_LOCKED', `data dir ${dir} is in use by ${who}; stop it or use another --data`)
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
  await writeJsonReplacing(dataDirFiles(dir).info, info, PRIVATE_FILE_MODE)
}
