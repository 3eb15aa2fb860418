// Loaded by every test file that binds sockets: refuses to run outside a network namespace, so a test
// started by hand with plain `mocha` cannot send iroh's UPnP probes or mDNS packets off the machine.
import { readFileSync } from 'node:fs'

export function networkInterfaces(): string[] {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]!.trim())
    .filter(Boolean)
}

export function assertIsolated(): void {
  const names = networkInterfaces()
  if (names.length !== 1 || names[0] !== 'lo') {
    throw new Error(
      `refusing to bind sockets outside an isolated network namespace (interfaces: ${names.join(', ')}); run through \`npm test\``,
    )
  }
}
