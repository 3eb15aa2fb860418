// Where a data dir's control socket lives. A Unix socket path holds at most ~107 bytes, and a data dir
// under VS Code's global storage (or a deep project folder) is longer than that: there the socket
// goes to a short per-user directory (`$XDG_RUNTIME_DIR` or the temp dir, `tonk-p2p-<uid>/`, 0700 and
// ours, else E_CONTROL_DIR), named by a hash of the data dir's real path. The serving peer writes the
// path it chose into session.json, so a client (another process, another environment) finds it from
// the data dir alone; without that file both sides compute the same path.
import { createHash } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { lstat, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { ControlError } from './control'
import { dataDirFiles, readDataDirInfo } from './data-dir'

/** Longest socket path we use (sun_path is 104 bytes on macOS, 108 on Linux, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 100

const realOrResolved = (dir: string) => {
  try {
    return realpathSync(dir)
  } catch {
    return resolve(dir)
  }
}

/** The per-user directory for sockets that do not fit in their data dir. */
export function runtimeSocketDir(): string {
  const runtime = process.env.XDG_RUNTIME_DIR
  const base = runtime && isAbsolute(runtime) ? runtime : tmpdir()
  return join(base, `tonk-p2p-${process.getuid?.() ?? 'user'}`)
}

/** The socket path for `dataDir`: in it when that fits, else in runtimeSocketDir(). */
export function controlSocketPath(dataDir: string): string {
  const inDir = resolve(dataDirFiles(dataDir).control)
  if (process.platform === 'win32' || Buffer.byteLength(inDir) <= MAX_SOCKET_PATH_BYTES) return inDir
  const key = createHash('sha256').update(realOrResolved(dataDir)).digest('hex').slice(0, 24)
  return join(runtimeSocketDir(), `${key}.sock`)
}

/** The path a server should listen on, its directory made (0700) and checked to be ours and closed. */
export async function prepareControlSocketPath(dataDir: string): Promise<string> {
  const path = controlSocketPath(dataDir)
  if (path === resolve(dataDirFiles(dataDir).control)) return path
  const dir = runtimeSocketDir()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await lstat(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    // Someone else made it first (a shared /tmp): their directory could hold a socket that impersonates ours.
    throw new ControlError('E_CONTROL_DIR', `${dir} is not a private directory of this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}): cannot place the control socket`)
  }
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlError('E_SOCKET_PATH', `no short enough place for the control socket (${path}); set XDG_RUNTIME_DIR or TMPDIR to a shorter folder`)
  }
  return path
}

/** The socket of the peer serving `dataDir`: as its session.json says, else where it would be. */
export async function findControlSocket(dataDir: string): Promise<string> {
  const info = await readDataDirInfo(dataDir)
  return info?.control ?? controlSocketPath(dataDir)
}
