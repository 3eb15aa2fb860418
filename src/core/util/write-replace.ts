// Replaces a file whole: write a temp file beside it, then rename over it, so a reader (or a crash) sees
// the old content or the new, never half of it. Small metadata and outputs only: no fsync here (the
// document storage has its own, durable path in store/storage.ts).
import { rename, rm, writeFile } from 'node:fs/promises'

/** `mode` applies to a new file (the umask may only remove bits); data-dir files pass 0o600. */
export async function writeReplacing(path: string, data: string | Uint8Array, mode = 0o666): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  // A temp file left by a crash keeps its old mode: start from a new one.
  await rm(tmp, { force: true })
  await writeFile(tmp, data, { mode })
  await rename(tmp, path)
}

export const writeJsonReplacing = (path: string, value: unknown, mode?: number): Promise<void> =>
  writeReplacing(path, JSON.stringify(value, null, 2) + '\n', mode)
