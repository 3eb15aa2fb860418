// The Mesh view's page: the graph the host sends, drawn as SVG. This session in the middle, its peers
// on a ring around it (our links: solid, labelled with path, RTT and any fault), peers known only from
// their link reports on an outer ring (dashed links). Elements are keyed by id and updated in place, so
// a new RTT moves a label, not the whole drawing. Every node is focusable: Tab/arrows move between
// them, Enter or a click shows the peer's row in the Peers view.
import type { HostToMesh, MeshEdge, MeshGraph, MeshNode, MeshToHost } from '../../src/protocol/mesh'
import './mesh.css'

declare function acquireVsCodeApi(): { postMessage(message: MeshToHost): void }
const vscode = acquireVsCodeApi()
const SVG = 'http://www.w3.org/2000/svg'
const app = document.getElementById('app')!

const svg = document.createElementNS(SVG, 'svg')
svg.setAttribute('role', 'group')
svg.setAttribute('aria-label', 'Peers of this session and their links')
const edgeLayer = document.createElementNS(SVG, 'g')
const nodeLayer = document.createElementNS(SVG, 'g')
svg.append(edgeLayer, nodeLayer)
const summary = document.createElement('p')
summary.className = 'summary'
summary.setAttribute('aria-live', 'polite')
const legend = document.createElement('p')
legend.className = 'legend'
legend.textContent = 'solid: this session’s links (path · RTT · sync round trip when it differs · fault) · dashed: links a peer reports · Enter on a peer: its row in the Peers view'

const nodeEls = new Map<string, SVGGElement>()
const edgeEls = new Map<string, SVGGElement>()
let graph: MeshGraph = { nodes: [], edges: [] }
let ended = false

const shortId = (id: string) => `${id.slice(0, 8)}…`
const label = (n: MeshNode) => (n.self ? `${n.name ?? 'you'} (you)` : n.name ?? shortId(n.id))

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  return node
}

/** Positions: this session centred, direct peers on a ring, reported-only peers on an outer ring; stable order by id. */
function layout(nodes: MeshNode[], width: number, height: number): Map<string, { x: number; y: number }> {
  const at = new Map<string, { x: number; y: number }>()
  const cx = width / 2
  const cy = height / 2
  const r = Math.max(80, Math.min(width, height) / 2 - 70)
  const ring = (list: MeshNode[], radius: number, offset: number) =>
    list.forEach((n, i) => {
      const a = offset + (2 * Math.PI * i) / list.length - Math.PI / 2
      at.set(n.id, { x: cx + radius * Math.cos(a), y: cy + radius * Math.sin(a) })
    })
  const self = nodes.find((n) => n.self)
  if (self) at.set(self.id, { x: cx, y: cy })
  const byId = (a: MeshNode, b: MeshNode) => (a.id < b.id ? -1 : 1)
  const direct = nodes.filter((n) => !n.self && n.direct).sort(byId)
  const outer = nodes.filter((n) => !n.direct).sort(byId)
  ring(direct, outer.length ? r * 0.55 : r * 0.8, 0)
  ring(outer, r, direct.length ? Math.PI / Math.max(outer.length, 1) : 0)
  return at
}

function edgeText(e: MeshEdge): string {
  // The sync round trip (through our framing) when it differs from QUIC's: a link fault's delay shows there.
  const sync = e.syncRttMs !== undefined && (e.rttMs === undefined || Math.abs(e.syncRttMs - e.rttMs) > 20) ? `sync ${Math.round(e.syncRttMs)} ms` : undefined
  return [e.path, e.rttMs !== undefined ? `${Math.round(e.rttMs)} ms` : undefined, sync, e.fault].filter(Boolean).join(' · ')
}

function render(): void {
  if (!svg.isConnected) {
    app.replaceChildren(summary, svg, legend)
  }
  const width = Math.max(320, app.clientWidth)
  const height = Math.max(320, window.innerHeight - 90)
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('width', String(width))
  svg.setAttribute('height', String(height))
  const at = layout(graph.nodes, width, height)
  const direct = graph.nodes.filter((n) => n.direct && !n.self).length
  summary.textContent = ended
    ? 'The session has stopped: this is the mesh as it was last seen.'
    : `${graph.nodes.length} peer(s) including you · ${direct} linked to you · ${graph.edges.length} link(s)`

  // Edges, keyed by their two ends.
  const liveEdges = new Set<string>()
  for (const e of graph.edges) {
    const a = at.get(e.from)
    const b = at.get(e.to)
    if (!a || !b) continue
    const key = `${e.from}>${e.to}`
    liveEdges.add(key)
    let g = edgeEls.get(key)
    if (!g) {
      g = el('g')
      g.append(el('line'), el('text', { class: 'edge-label' }))
      edgeLayer.append(g)
      edgeEls.set(key, g)
    }
    g.setAttribute('class', `edge ${e.reported ? 'reported' : 'ours'} path-${e.path}${e.fault ? ' fault' : ''}`)
    g.dataset.from = e.from
    g.dataset.to = e.to
    const line = g.querySelector('line')!
    line.setAttribute('x1', String(a.x))
    line.setAttribute('y1', String(a.y))
    line.setAttribute('x2', String(b.x))
    line.setAttribute('y2', String(b.y))
    const text = g.querySelector('text')!
    // Our edges start at the centre node: their label sits nearer the peer, clear of the centre's name.
    const t = e.reported ? 0.5 : 0.62
    text.setAttribute('x', String(a.x + (b.x - a.x) * t))
    text.setAttribute('y', String(a.y + (b.y - a.y) * t - 4))
    text.textContent = e.reported ? (e.rttMs !== undefined ? `${Math.round(e.rttMs)} ms` : '') : edgeText(e)
  }
  for (const [key, g] of edgeEls) if (!liveEdges.has(key)) (g.remove(), edgeEls.delete(key))

  // Nodes, keyed by endpoint id.
  const liveNodes = new Set<string>()
  for (const n of graph.nodes) {
    const p = at.get(n.id)!
    liveNodes.add(n.id)
    let g = nodeEls.get(n.id)
    if (!g) {
      g = el('g', { tabindex: 0, role: 'button' })
      g.append(el('circle', { r: 18 }), el('text', { class: 'node-label', 'text-anchor': 'middle' }), el('text', { class: 'node-sub', 'text-anchor': 'middle' }))
      g.addEventListener('click', () => reveal(n.id))
      g.addEventListener('keydown', (ev) => onKey(ev, n.id))
      nodeLayer.append(g)
      nodeEls.set(n.id, g)
    }
    g.setAttribute('class', `node${n.self ? ' self' : ''}${n.direct ? ' direct' : ' reported'} state-${n.state ?? 'unknown'}${n.otherBuild ? ' other-build' : ''}`)
    g.dataset.id = n.id
    g.setAttribute('transform', `translate(${p.x} ${p.y})`)
    const sub = n.self ? 'this session' : n.direct ? [n.state, n.foundBy && `via ${n.foundBy}`].filter(Boolean).join(' · ') : 'reported by a peer'
    g.setAttribute('aria-label', `${label(n)}: ${sub}`)
    const name = g.children[1]
    const subText = g.children[2]
    name!.setAttribute('y', '34')
    name!.textContent = label(n)
    subText!.setAttribute('y', '48')
    subText!.textContent = sub
  }
  for (const [id, g] of nodeEls) if (!liveNodes.has(id)) (g.remove(), nodeEls.delete(id))
}

function reveal(id: string): void {
  const node = graph.nodes.find((n) => n.id === id)
  if (node && !node.self && node.direct) vscode.postMessage({ type: 'reveal', endpointId: id })
}

/** Arrow keys walk the nodes in drawing order; Enter/Space reveal. */
function onKey(ev: KeyboardEvent, id: string): void {
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault()
    reveal(id)
    return
  }
  const step = ev.key === 'ArrowRight' || ev.key === 'ArrowDown' ? 1 : ev.key === 'ArrowLeft' || ev.key === 'ArrowUp' ? -1 : 0
  if (!step) return
  ev.preventDefault()
  const ids = graph.nodes.map((n) => n.id)
  const next = ids[(ids.indexOf(id) + step + ids.length) % ids.length]!
  ;(nodeEls.get(next) as unknown as HTMLElement | undefined)?.focus()
}

window.addEventListener('message', (event: MessageEvent<HostToMesh>) => {
  const message = event.data
  if (message?.type === 'mesh') {
    graph = message.graph
    render()
  } else if (message?.type === 'session-ended') {
    ended = true
    document.body.classList.add('ended')
    render()
  }
})
window.addEventListener('resize', () => render())
vscode.postMessage({ type: 'ready' })
