#!/usr/bin/env node
// Runs a command inside a fresh network namespace that has only `lo`, so nothing it starts (iroh's
// UPnP portmapper, mDNS, DHT sockets) can send traffic off this machine. Re-executes itself under
// `unshare -n` (root) or `unshare -rn` (unprivileged, via a user namespace) when not yet isolated.
// Usage: node scripts/isolated.mjs CMD [ARGS...]
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Interfaces of the current network namespace (/proc/net follows the process's netns; /sys does not). */
export function networkInterfaces() {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0].trim())
    .filter(Boolean)
}

export function isIsolated() {
  const names = networkInterfaces()
  return names.length === 1 && names[0] === 'lo'
}

function main(argv) {
  if (argv.length === 0) {
    console.error('usage: node scripts/isolated.mjs CMD [ARGS...]')
    process.exit(2)
  }
  if (isIsolated() || process.env.TONK_ISOLATED === '1') {
    if (!isIsolated()) {
      console.error('isolated.mjs: TONK_ISOLATED=1 but this network namespace has more than lo; refusing to run')
      process.exit(3)
    }
    // Already inside a namespace: make sure loopback is up, then run the command in place.
    spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'ignore' })
    const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' })
    process.exit(r.status ?? (r.signal ? 128 : 1))
  }
  const self = fileURLToPath(import.meta.url)
  const unshareFlags = process.getuid?.() === 0 ? ['-n'] : ['-rn']
  const script = 'ip link set lo up && exec "$@"'
  const r = spawnSync(
    'unshare',
    [...unshareFlags, 'sh', '-c', script, 'isolated', process.execPath, self, ...argv],
    { stdio: 'inherit', env: { ...process.env, TONK_ISOLATED: '1' } },
  )
  if (r.error) {
    console.error(`isolated.mjs: cannot create a network namespace (${r.error.message}); install util-linux and iproute2`)
    process.exit(3)
  }
  process.exit(r.status ?? (r.signal ? 128 : 1))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2))
