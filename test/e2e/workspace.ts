// The workspace both launchers open: a temp copy of examples/my-world, or a minimal bundle if it is gone.
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..', '..')

export const MINIMAL_MANIFEST = {
  manifestVersion: 1, name: 'e2e', version: '0.1.0', entrypoints: ['/index.html'],
  sync: { namespace: 'e2e', protocolVersion: '1.0.0', minCompatibleVersion: '1.0.0',
    discovery: { mdnsService: '_tonk-sync._udp', bootstrapPeers: [] } },
}

/** Creates `parent/workspace` from `from` (default examples/my-world) and returns its path. */
export function makeWorkspace(parent: string, from?: string): string {
  const ws = join(parent, 'workspace')
  const src = from ?? join(ROOT, 'examples', 'my-world')
  if (existsSync(src)) {
    cpSync(src, ws, { recursive: true, filter: (p) => !/[/\\](node_modules|\.tonk-data)$/.test(p) })
  } else {
    mkdirSync(ws, { recursive: true })
    writeFileSync(join(ws, 'tonk.json'), JSON.stringify(MINIMAL_MANIFEST, null, 2) + '\n')
    writeFileSync(join(ws, 'index.html'),
      '<!doctype html>\n<html><head><meta charset="utf-8"><title>e2e</title></head><body><h1>e2e</h1></body></html>\n')
  }
  return ws
}
