// The starter bundle written by `tonk-p2p init` (and the extension's "new bundle" flow): a manifest and a
// tiny app that counts clicks in a shared document, enough to see two peers sync.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { newAppKey } from './capability'

export interface NewBundleOptions {
  name?: string
  namespace?: string
}

/** A bundle name from a folder name: lower case, npm-like characters only. */
export function bundleNameFrom(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '')
  return name || 'my-bundle'
}

export function newBundleFiles(opts: Required<NewBundleOptions>): Record<string, string> {
  const manifest = {
    manifestVersion: 1,
    name: opts.name,
    version: '0.1.0',
    description: `${opts.name}: a local-first app that syncs peer to peer`,
    entrypoints: ['/index.html'],
    sync: {
      appKey: newAppKey(),
      namespace: opts.namespace,
      protocolVersion: '1.0.0',
      minCompatibleVersion: '1.0.0',
      discovery: { mdnsService: '_tonk-sync._udp', bootstrapPeers: [] },
    },
  }
  return {
    'tonk.json': JSON.stringify(manifest, null, 2) + '\n',
    'index.html': `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${opts.name}</title></head>
<body>
  <h1>${opts.name}</h1>
  <p><button id="inc">+1</button> clicked <strong id="count">0</strong> times, on every peer.</p>
  <script src="app.js"></script>
</body>
</html>
`,
    'app.js': `// window.tonk is injected by the Tonk runtime (see docs/injected-api.md).
;(function () {
  var PATH = '/counter'
  function start(tonk) {
    tonk.ready.then(function () {
      function show(doc) { document.getElementById('count').textContent = String((doc && doc.clicks) || 0) }
      tonk.listen(PATH, show)
      tonk.readDoc(PATH).then(show)
      document.getElementById('inc').onclick = function () {
        tonk.changeDoc(PATH, function (d) { d.clicks = (d.clicks || 0) + 1 })
      }
    })
  }
  if (window.tonk) start(window.tonk)
  else window.addEventListener('tonk:ready', function () { start(window.tonk) }, { once: true })
})()
`,
  }
}

/** Writes a new bundle into `dir` (created if missing); refuses a folder that already has files. */
export async function createNewBundle(dir: string, opts: NewBundleOptions = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const existing = await readdir(dir)
  if (existing.length > 0) throw new Error(`${dir} is not empty; init writes only into a new or empty folder`)
  const name = opts.name ?? bundleNameFrom(dir)
  const files = newBundleFiles({ name, namespace: opts.namespace ?? `${name}-${Date.now().toString(36)}` })
  for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text, { flag: 'wx' })
  return Object.keys(files)
}

/**
 * Gives an existing bundle folder an app key (`init --app-key`): inserted as the first field of "sync",
 * as text, so the rest of the author's tonk.json keeps its formatting. Returns the key; refuses a
 * folder that has one (replacing it would cut the app off from its peers and data).
 */
export async function addAppKey(dir: string): Promise<string> {
  const file = join(dir, 'tonk.json')
  const text = await readFile(file, 'utf8')
  const parsed = JSON.parse(text) as { sync?: { appKey?: unknown } }
  if (typeof parsed.sync !== 'object' || parsed.sync === null) throw new Error(`${file} has no "sync" section`)
  if (parsed.sync.appKey !== undefined) throw new Error(`${file} already has an appKey; replacing it would make another app`)
  const match = /("sync"\s*:\s*\{)(\s*)/.exec(text)
  if (!match) throw new Error(`${file}: cannot find the "sync" object`)
  const key = newAppKey()
  const indent = match[2] && match[2].includes('\n') ? match[2] : ' '
  const at = match.index + match[1].length
  const next = `${text.slice(0, at)}${indent}"appKey": "${key}",${text.slice(at)}`
  JSON.parse(next) // never write a broken manifest
  await writeFile(file, next)
  return key
}
