// Addresses a bundle asks its peers to contact: today the manifest's sync.discovery.bootstrapPeers
// (tickets). Whoever wrote the manifest chose them, so dialing them tells that address this peer's IP
// and that it runs the bundle. A front decides per hint (SessionOptions.approveBundleHints): the
// extension asks the user once per bundle and value; the CLI, whose user named the bundle on the
// command line, dials them and prints each one. A future bridge/relay hint in the manifest (Tonk's
// networkUris) must go through the same gate.
import { parseDialTarget } from '../net/endpoint'

export interface BundleHint {
  kind: 'bootstrap-peer'
  /** Exactly as written in the manifest (the ticket). */
  value: string
  /** What dialing it contacts, for a prompt or a log line; absent when the ticket does not parse. */
  endpointId?: string
  addresses?: string[]
  relayUrl?: string
}

/**
 * Decides which hints a session uses. Called once per start, after the session runs (so a prompt does
 * not hold up the start); the hints it returns are dialed if the session is still running.
 */
export type ApproveBundleHints = (hints: BundleHint[]) => Promise<readonly BundleHint[]> | readonly BundleHint[]

export function bootstrapHints(tickets: readonly string[]): BundleHint[] {
  return tickets.map((value) => {
    try {
      const addr = parseDialTarget(value)
      return { kind: 'bootstrap-peer', value, endpointId: addr.id().toString(), addresses: addr.directAddresses(), relayUrl: addr.relayUrl() ?? undefined }
    } catch {
      return { kind: 'bootstrap-peer', value }
    }
  })
}

/** One line for logs and prompts: `3f2a9c1e0b… at 10.0.0.5:4433, 192.168.1.9:4433`. */
export function describeHint(hint: BundleHint): string {
  if (!hint.endpointId) return `"${hint.value.length > 40 ? `${hint.value.slice(0, 40)}…` : hint.value}" (not a ticket)`
  const where = [...(hint.addresses ?? []), ...(hint.relayUrl ? [`relay ${hint.relayUrl}`] : [])]
  return `${hint.endpointId.slice(0, 10)}… at ${where.length ? where.join(', ') : 'no address'}`
}
