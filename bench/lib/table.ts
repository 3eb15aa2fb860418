// The results table: printed to the terminal and written as Markdown.
import { fmt } from './stats'

export interface Row {
  id: string
  measure: string
  unit: string
  p2p?: number
  ws?: number
  /** Overrides the formatted P2P cell (e.g. "p50 / p99"). */
  p2pText?: string
  ratio?: number
  target: string
  /** null: reported only, or not measured. */
  met: boolean | null
  note?: string
}

export interface Meta {
  date: string
  mode: string
  commit: string
  node: string
  cpus: string
  memoryGB: number
  seconds: number
  wsStorage: string
}

const cells = (r: Row) => [
  r.measure,
  r.p2pText ?? fmt(r.p2p, r.unit),
  fmt(r.ws, r.unit),
  r.ratio === undefined ? '—' : r.ratio.toFixed(2),
  r.target,
  r.met === null ? (r.p2p === undefined ? 'not measured' : '—') : r.met ? 'yes' : 'NO',
]

const header = ['measure', 'P2P', 'WS server', 'P2P/WS', 'target', 'met?']

export function printTable(rows: Row[], meta: Meta): void {
  const all = [header, ...rows.map(cells)]
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)))
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log(`\nTonk P2P benchmark (${meta.mode}, ${meta.date}, ${meta.commit}, ${meta.cpus}, Node ${meta.node})\n`)
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) console.log(line(cells(r)))
  const notes = rows.filter((r) => r.note)
  if (notes.length) {
    console.log('')
    for (const r of notes) console.log(`* ${r.measure}: ${r.note}`)
  }
  console.log('')
}

export function toMarkdown(rows: Row[], meta: Meta): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|')
  const out = [
    `# Benchmark results (${meta.mode} run)`,
    '',
    `${meta.date} · commit ${meta.commit} · ${meta.cpus} · ${meta.memoryGB} GB · Node ${meta.node} · ${meta.seconds} s`,
    '',
    `WS = automerge-repo's WebSocket sync server (NodeWSServerAdapter on \`ws\`, 127.0.0.1) and WebSocketClientAdapter clients; P2P = whole Sessions over iroh. Every repo is its own process; storage: ${meta.wsStorage}.`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
    '',
  ]
  const notes = rows.filter((r) => r.note)
  if (notes.length) out.push(...notes.map((r) => `- ${esc(r.measure)}: ${r.note}`), '')
  out.push('![latency distributions](latency.svg)', '')
  return out.join('\n')
}
