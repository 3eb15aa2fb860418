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
const nameOf = (id: string) => {
  const n = graph.nodes.find((x) => x.id === id)
  return n ? label(n) : shortId(id)
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  return node
}

/** Past this many nodes the drawing keeps to names; details are in each node's and edge's hover title. */
const DETAIL_LIMIT = 12
/** Room each node needs along its ring (name and state fit under it). */
const NODE_ARC = 96

/**
 * Positions: this session centred, direct peers on a ring, reported-only peers on an outer ring;
 * stable order by id. Rings grow with their node count (the drawing scrolls rather than overlap).
 */
function layout(nodes: MeshNode[], width: number, height: number): { at: Map<string, { x: number; y: number }>; width: number; height: number } {
  const at = new Map<string, { x: number; y: number }>()
  const byId = (a: MeshNode, b: MeshNode) => (a.id < b.id ? -1 : 1)
  const direct = nodes.filter((n) => !n.self && n.direct).sort(byId)
  const outer = nodes.filter((n) => !n.direct).sort(byId)
  const fit = Math.max(80, Math.min(width, height) / 2 - 70)
  const inner = Math.max(outer.length ? fit * 0.55 : fit * 0.8, (direct.length * NODE_ARC) / (2 * Math.PI))
  const outerR = Math.max(fit, inner + 130, (outer.length * NODE_ARC) / (2 * Math.PI))
  const extent = (outer.length ? outerR : inner) + 70
  const w = Math.max(width, 2 * extent)
  const h = Math.max(height, 2 * extent)
  const cx = w / 2
  const cy = h / 2
  const ring = (list: MeshNode[], radius: number, offset: number) =>
    list.forEach((n, i) => {
      const a = offset + (2 * Math.PI * i) / list.length - Math.PI / 2
      at.set(n.id, { x: cx + radius * Math.cos(a), y: cy + radius * Math.sin(a) })
    })
  const self = nodes.find((n) => n.self)
  if (self) at.set(self.id, { x: cx, y: cy })
  ring(direct, inner, 0)
  ring(outer, outerR, direct.length ? Math.PI / Math.max(outer.length, 1) : 0)
  return { at, width: w, height: h }
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
  const drawn = layout(graph.nodes, Math.max(320, app.clientWidth), Math.max(320, window.innerHeight - 90))
  const { at } = drawn
  svg.setAttribute('viewBox', `0 0 ${drawn.width} ${drawn.height}`)
  svg.setAttribute('width', String(drawn.width))
  svg.setAttribute('height', String(drawn.height))
  const detailed = graph.nodes.length <= DETAIL_LIMIT
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
      g.append(el('line'), el('text', { class: 'edge-label' }), el('title'))
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
    const full = edgeText(e)
    // Many peers: only what needs attention stays on the drawing (a fault, a slow sync); all is on hover.
    const notable = e.fault !== undefined || (!e.reported && e.syncRttMs !== undefined && Math.abs(e.syncRttMs - (e.rttMs ?? 0)) > 20)
    text.textContent = detailed || notable ? (e.reported ? (e.rttMs !== undefined ? `${Math.round(e.rttMs)} ms` : '') : full) : ''
    g.querySelector('title')!.textContent = `${nameOf(e.from)} – ${nameOf(e.to)}: ${full}${e.reported ? ' (reported by a peer)' : ''}`
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
      g.append(el('circle', { r: 18 }), el('text', { class: 'node-label', 'text-anchor': 'middle' }), el('text', { class: 'node-sub', 'text-anchor': 'middle' }), el('title'))
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
    // Many peers: the state only where it is not the usual "connected"; the rest is on hover.
    subText!.textContent = detailed || (n.direct && !n.self && n.state !== 'connected') ? (detailed ? sub : n.state ?? '') : ''
    g.children[3]!.textContent = `${label(n)} ${n.id}\n${sub}`
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
