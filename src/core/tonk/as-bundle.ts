// A .tonk as the bundle a session serves (`tonk-p2p serve FILE.tonk`, Start P2P Session on a .tonk).
// The session's machinery (handshake, discovery, data dir, root document) speaks LoadedBundle; a .tonk
// is adapted to it rather than giving the session a second kind of bundle:
//   - root document: the .tonk's rootId (not derived from a namespace), its bytes from the file;
//   - capability: the rootId is a random document id, known only to holders of the file, so the app
//     key is derived from it (HKDF, its own label): peers that opened copies of one .tonk find each
//     other (mDNS tag, DHT topic, sealed handshake all derive from it) and nobody else learns anything;
//   - P2P settings a publisher wants live under `xVendor.xTonkP2p` (so Tonk's tools still read the
//     file): a bundle's sync section (namespace, protocol versions, strictBuild, discovery, allowedPeers)
//     and a name, checked by TonkP2pSchema; left out, each has the default of a bundle;
//   - build id (bundleId): SHA-256 of the file, so two different files of one app are two builds;
//   - every other document is imported into the data dir on its first start (tonkDocuments below).
import { createHash, hkdfSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { Automerge } from '@automerge/automerge-repo/slim'
import type { LoadedBundle } from '../bundle/load'
import type { PackedManifest, TonkP2pSettings } from '../bundle/manifest'
import { validateTonkP2p } from '../bundle/validate'
import { DEFAULT_MDNS_SERVICE } from '../bundle/manifest'
import { BundleError } from '../bundle/errors'
import { loadTonk } from './read'
import type { TonkManifest } from './manifest'

/** What a session keeps of the .tonk it serves. */
export interface TonkSource {
  rootId: string
  /** The file's own manifest (entrypoints, networkUris, xNotes, xVendor): export carries it over. */
  manifest: TonkManifest
  /** Every document but the root, saved whole, by id: imported into a new data dir. */
  documents: Map<string, Uint8Array>
}

export type TonkBundle = LoadedBundle & { tonk: TonkSource }

export const isTonkBundle = (bundle: LoadedBundle): bundle is TonkBundle => 'tonk' in bundle && (bundle as TonkBundle).tonk !== undefined

const NAME_RE = /^[a-z0-9-~][a-z0-9-._~]*$/

/** The app key peers of one .tonk share: derived from its rootId (32 bytes, base64url). */
export function tonkAppKey(rootId: string): string {
  return Buffer.from(hkdfSync('sha256', Buffer.from(rootId, 'utf8'), new Uint8Array(0), 'tonk/tonk-root-app-key/1', 32)).toString('base64url')
}

/** A file name as an npm-style app name ("My App.tonk" → "my-app"). */
function nameFrom(file: string | undefined): string {
  const base = (file ? basename(file).replace(/\.tonk$/i, '') : '').toLowerCase().replace(/[^a-z0-9-._~]+/g, '-').replace(/^[-._]+|-+$/g, '')
  return base && NAME_RE.test(base) ? base.slice(0, 214) : 'tonk-app'
}

/** `xVendor.xTonkP2p`, checked against its schema (TonkP2pSchema): the first problem is thrown as E_SCHEMA/E_SEMVER. */
function p2pSettings(manifest: TonkManifest): TonkP2pSettings {
  const raw = manifest.xVendor && typeof manifest.xVendor === 'object' ? (manifest.xVendor as Record<string, unknown>).xTonkP2p : undefined
  if (raw === undefined) return {}
  const problem = validateTonkP2p(raw).find((i) => i.severity === 'error')
  if (problem) throw new BundleError(problem.code, `manifest.json ${problem.message}`, { pointer: problem.pointer })
  return raw as TonkP2pSettings
}

/** Reads a .tonk (every hostile-file check of loadTonk) and adapts it to a session's bundle. */
export async function loadTonkAsBundle(source: string | Uint8Array): Promise<TonkBundle> {
  const loaded = await loadTonk(source)
  const { manifest } = loaded
  const root = loaded.documents.get(manifest.rootId)
  if (!root) throw new BundleError('E_TONK_ROOT_MISSING', `the .tonk has no document for its rootId ${manifest.rootId}`)
  const bytes = typeof source === 'string' ? await readFile(source) : source
  const settings = p2pSettings(manifest)
  const rootKey = createHash('sha256').update(manifest.rootId).digest('hex').slice(0, 16)
  const packed: PackedManifest = {
    manifestVersion: 1,
    name: settings.name ?? nameFrom(typeof source === 'string' ? source : undefined),
    version: `${manifest.version.major}.${manifest.version.minor}.0`,
    description: typeof manifest.xNotes === 'string' ? manifest.xNotes.slice(0, 4096) : undefined,
    entrypoints: manifest.entrypoints.length ? manifest.entrypoints.map((e) => (e.startsWith('/') ? e : `/${e}`)) : ['/'],
    files: [],
    sync: {
      bundleId: createHash('sha256').update(bytes).digest('hex'),
      appKey: tonkAppKey(manifest.rootId),
      namespace: settings.namespace ?? `tonk-root-${rootKey}`,
      protocolVersion: settings.protocolVersion ?? '1.0.0',
      minCompatibleVersion: settings.minCompatibleVersion ?? '1.0.0',
      ...(settings.strictBuild && { strictBuild: true }),
      discovery: {
        mdnsService: settings.discovery?.mdnsService ?? DEFAULT_MDNS_SERVICE,
        bootstrapPeers: [...(settings.discovery?.bootstrapPeers ?? [])],
        ...(settings.discovery?.dhtKey !== undefined && { dhtKey: settings.discovery.dhtKey }),
      },
      rootDocument: { documentId: manifest.rootId, path: '/.tonk/root.automerge' },
      ...(settings.allowedPeers && { allowedPeers: settings.allowedPeers }),
    },
  }
  if (packed.description === undefined) delete packed.description
  const documents = new Map<string, Uint8Array>()
  for (const [id, doc] of loaded.documents) if (id !== manifest.rootId) documents.set(id, Automerge.save(doc))
  return {
    manifest: packed,
    files: new Map(),
    bundleId: packed.sync.bundleId,
    rootDocumentBytes: Automerge.save(root),
    sizeOnDisk: loaded.sizeOnDisk,
    tonk: { rootId: manifest.rootId, manifest, documents },
  }
}
