// The .tonk a data dir was started from keeps its manifest.json beside the storage, so `export` writes a
// file with the same entrypoints, networkUris, notes and vendor metadata (the data dir holds documents
// only). Read back through Tonk's own manifest check: a file edited by hand is ignored, not trusted.
import { readFile } from 'node:fs/promises'
import { writeJsonReplacing } from '../store/durable-fs'
import { validateTonkManifest, type TonkManifest } from '../tonk/manifest'
import type { ExportManifestBase } from '../tonk/export-vfs'
import { dataDirFiles } from './data-dir'

const PRIVATE_FILE_MODE = 0o600

export async function keepTonkManifest(dataDir: string, manifest: TonkManifest): Promise<void> {
  await writeJsonReplacing(dataDirFiles(dataDir).tonkManifest, manifest, PRIVATE_FILE_MODE)
}

/** The kept manifest without its rootId (export sets the root it writes), or undefined. */
export async function keptTonkManifest(dataDir: string): Promise<ExportManifestBase | undefined> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(dataDirFiles(dataDir).tonkManifest, 'utf8'))
  } catch {
    return undefined
  }
  if (validateTonkManifest(json).some((i) => i.severity === 'error')) return undefined
  const { rootId: _root, manifestVersion: _v, ...base } = json as TonkManifest
  return { ...base, networkUris: base.networkUris ?? [] }
}
