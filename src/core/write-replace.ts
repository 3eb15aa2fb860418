// Replaces a file whole: write a temp file beside it, then rename over it, so a reader (or a crash) sees
// the old content or the new, never half of it. Small metadata and outputs only: no fsync here (the
// document storage has its own, durable path in docs/storage.ts).
import { rename, writeFile } from 'node:fs/promises'

export async function writeReplacing(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, path)
}

export const writeJsonReplacing = (path: string, value: unknown): Promise<void> =>
  writeReplacing(path, JSON.stringify(value, null, 2) + '\n')
