// The sync trace as text, one line per message (the tonk-trace language; syntaxes/tonk-trace.tmLanguage.json
// highlights it):
//   23:55:55.123 -> 1a2b3c4d5e local-1 sync /my-world/places 1234 B
//   23:55:55.130 <- 1a2b3c4d5e local-1 doc-unavailable 4NMNnkMhL8jXrdJ9jamS7ztqkPSo 88 B
//   23:55:56.002 !! 9f8e7d6c5b refused (E_BUNDLE_MISMATCH): it serves another bundle
// A peer on another build of the app shows as name@build:3fcf… (it syncs; see docs/bundle-format.md).
// `->` sent, `<-` received, `!!` an error; names are the peers' own, `-` when unknown; a document is
// named by its path in the bundle's tree when the session knows it, else by its id.
import type { PeerRefusedEvent, TraceEvent } from '../core/net/iroh-adapter'

export function traceTime(at: number): string {
  const d = new Date(at)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** Peer names contain anything a remote chose: keep them one token. */
const nameToken = (name: string | undefined) => (name ? name.replace(/\s+/g, '_') : '-')

export function formatTraceLine(t: TraceEvent, names: ReadonlyMap<string, string>, paths: ReadonlyMap<string, string> = new Map()): string {
  const arrow = t.direction === 'out' ? '->' : '<-'
  const doc = t.documentId ? (paths.get(t.documentId)?.replace(/\s+/g, '_') ?? t.documentId) : '-'
  return `${traceTime(t.at)} ${arrow} ${t.endpointId.slice(0, 10)} ${nameToken(names.get(t.endpointId))} ${t.type} ${doc} ${t.bytes} B${t.fault ? ` [${t.fault}]` : ''}`
}

export function formatRefusedLine(r: PeerRefusedEvent, at: number, names: ReadonlyMap<string, string>): string {
  const who = r.by === 'local' ? 'refused' : 'refused-by'
  return `${traceTime(at)} !! ${r.endpointId.slice(0, 10)} ${nameToken(names.get(r.endpointId))} ${who} (${r.code}): ${r.reason}`
}

export function traceHeader(title: string, count: number, live: boolean): string[] {
  return [
    `# Tonk sync trace: ${title}`,
    `# ${count} message(s), oldest first; ${live ? 'live: new messages are appended while the session runs' : 'the session has stopped'}`,
    '# time         dir peer       name type document bytes',
  ]
}
