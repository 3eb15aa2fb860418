// The document inspector's page: renders what the host sends (src/protocol/inspector.ts) and asks the
// host for edits. It holds no document of its own: every change is made by the host as an Automerge
// change, and comes back here like a change from any other peer.
import type {
  DocView,
  HistoryPoint,
  HostToInspector,
  InspectorEdit,
  InspectorPanelState,
  InspectorState,
  InspectorToHost,
  InspectorValue,
  JsonValue,
  PeerSyncView,
  ValuePath,
} from '../../src/protocol/inspector'
import './inspector.css'
import { TimeTravel } from './history'

declare function acquireVsCodeApi(): { postMessage(message: InspectorToHost): void; setState(state: InspectorPanelState): void }
const vscode = acquireVsCodeApi()

let state: InspectorState | undefined
let ended = false
/** No edits: the session stopped, the host says this document is not to be edited by hand, or a past version is shown. */
const locked = () => ended || Boolean(state?.readOnly) || travel.past !== undefined
let editing = false
let pendingRender = false
let nextRequestId = 1
const pending = new Map<number, string>()
/** Paths (JSON) the user opened or closed; everything else follows the default (open up to depth 2). */
const toggled = new Map<string, boolean>()

const app = document.getElementById('app')!

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  node.append(...children)
  return node
}

const short = (s: string, n = 8) => (s.length > n ? s.slice(0, n) : s)
const pathKey = (path: ValuePath) => JSON.stringify(path)

function isOpen(path: ValuePath): boolean {
  return toggled.get(pathKey(path)) ?? path.length < 3
}

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  const status = document.getElementById('status')
  if (!status) return
  status.textContent = text
  status.className = `status ${kind}`
}

function send(message: InspectorToHost): void {
  vscode.postMessage(message)
}

const travel = new TimeTravel({
  send,
  nextRequestId: () => nextRequestId++,
  changed: () => render(),
  status: (text, kind) => setStatus(text, kind),
  locked: () => ended || Boolean(state?.readOnly),
})

type EditRequest = InspectorEdit extends infer E ? (E extends InspectorEdit ? Omit<E, 'requestId'> : never) : never

function request(message: EditRequest, what: string): void {
  const requestId = nextRequestId++
  pending.set(requestId, what)
  send({ ...message, requestId } as InspectorToHost)
  setStatus(`${what}…`)
}

/** What the user typed, as JSON when it parses (42, true, {"a":1}, "quoted"), else as a plain string. */
function parseInput(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    return text
  }
}

function scalarText(v: InspectorValue): string {
  switch (v.kind) {
    case 'string':
      return JSON.stringify(v.value)
    case 'number':
    case 'boolean':
      return String(v.value)
    case 'null':
      return 'null'
    case 'counter':
      return `Counter(${v.value})`
    case 'date':
      return `Date(${v.value})`
    case 'bytes':
      return `bytes[${v.length}] ${v.hex}${v.length > 32 ? '…' : ''}`
    case 'other':
      return v.text
    default:
      return ''
  }
}

function editableText(v: InspectorValue): string | undefined {
  if (v.kind === 'string') return v.value
  if (v.kind === 'number' || v.kind === 'boolean') return String(v.value)
  if (v.kind === 'null') return 'null'
  return undefined
}

function startEdit(span: HTMLElement, path: ValuePath, v: InspectorValue): void {
  const initial = editableText(v)
  if (initial === undefined || locked()) return
  editing = true
  const input = el('input', { class: 'edit', type: 'text', 'aria-label': `new value of ${path.join('.')}` })
  input.value = initial
  span.replaceWith(input)
  input.focus()
  input.select()
  let done = false
  const finish = (commit: boolean) => {
    if (done) return
    done = true
    editing = false
    if (commit && input.value !== initial) {
      // A string stays a string unless the user typed something else on purpose (JSON).
      const value = v.kind === 'string' && !/^\s*[[{"\d-]|^(true|false|null)$/.test(input.value) ? input.value : parseInput(input.value)
      request({ type: 'set', path, value }, `set ${path.join('.')}`)
    }
    render()
  }
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true)
    else if (e.key === 'Escape') finish(false)
  })
  input.addEventListener('blur', () => finish(false))
}

function startAddKey(container: HTMLElement, path: ValuePath): void {
  if (locked()) return
  editing = true
  const key = el('input', { class: 'add-key-name', type: 'text', placeholder: 'key', 'aria-label': 'new key' })
  const value = el('input', { class: 'add-key-value', type: 'text', placeholder: 'value (JSON or text)', 'aria-label': 'new value' })
  const form = el('div', { class: 'add-key-form' }, key, value)
  container.append(form)
  key.focus()
  let done = false
  const finish = (commit: boolean) => {
    if (done) return
    done = true
    editing = false
    if (commit && key.value) request({ type: 'add-key', path, key: key.value, value: parseInput(value.value) }, `add ${[...path, key.value].join('.')}`)
    render()
  }
  for (const input of [key, value]) {
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && key.value) finish(true)
      else if (e.key === 'Escape') finish(false)
    })
  }
  form.addEventListener('focusout', (e) => {
    if (!form.contains(e.relatedTarget as Node | null)) finish(false)
  })
}

function node(label: string | number | undefined, v: InspectorValue, path: ValuePath): HTMLElement {
  const row = el('div', { class: 'row', 'data-path': pathKey(path) })
  const line = el('div', { class: 'line' })
  row.append(line)
  if (label !== undefined) line.append(el('span', { class: typeof label === 'number' ? 'key index' : 'key' }, String(label)), el('span', { class: 'colon' }, ': '))
  const deletable = path.length > 0 && !locked()
  if (v.kind === 'object' || v.kind === 'array') {
    const open = isOpen(path)
    const toggle = el('button', { class: 'toggle', 'aria-expanded': String(open), title: open ? 'Collapse' : 'Expand' }, open ? '▾' : '▸')
    toggle.addEventListener('click', () => {
      toggled.set(pathKey(path), !open)
      render()
    })
    line.prepend(toggle)
    const size = v.kind === 'object' ? v.entries.length : v.items.length
    line.append(el('span', { class: 'summary' }, v.kind === 'object' ? `{${size} ${size === 1 ? 'key' : 'keys'}}` : `[${size}]`))
    if (v.kind === 'object' && !locked()) {
      const add = el('button', { class: 'action add', title: 'Add a key' }, '+')
      add.addEventListener('click', () => {
        toggled.set(pathKey(path), true)
        render()
        const target = app.querySelector<HTMLElement>(`.row[data-path='${CSS.escape(pathKey(path))}'] > .children`)
        if (target) startAddKey(target, path)
      })
      line.append(add)
    }
    if (deletable) line.append(deleteButton(path))
    if (open) {
      const children = el('div', { class: 'children' })
      if (v.kind === 'object') for (const [k, child] of v.entries) children.append(node(k, child, [...path, k]))
      else v.items.forEach((child, i) => children.append(node(i, child, [...path, i])))
      row.append(children)
    }
    return row
  }
  line.prepend(el('span', { class: 'toggle-space' }))
  const value = el('span', { class: `value ${v.kind}`, tabindex: '0' }, scalarText(v))
  if (editableText(v) !== undefined && !locked()) {
    value.title = 'Click to edit (Enter saves, Escape cancels)'
    value.classList.add('editable')
    value.addEventListener('click', () => startEdit(value, path, v))
    value.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') startEdit(value, path, v)
    })
  }
  line.append(value)
  if (deletable) line.append(deleteButton(path))
  return row
}

function deleteButton(path: ValuePath): HTMLElement {
  const button = el('button', { class: 'action delete', title: 'Delete' }, '×')
  button.addEventListener('click', () => request({ type: 'delete', path }, `delete ${path.join('.')}`))
  return button
}

function peersTable(peers: PeerSyncView[]): HTMLElement {
  if (peers.length === 0) return el('p', { class: 'empty' }, ended ? 'The session has stopped.' : 'No peers.')
  const table = el('table', { class: 'peers' }, el('tr', {}, ...['Peer', 'State', 'This document', 'Their heads', 'Last sync'].map((h) => el('th', {}, h))))
  for (const p of peers) {
    table.append(
      el('tr', { 'data-endpoint-id': p.endpointId },
        el('td', { title: p.endpointId }, `${p.name ?? '?'} `, el('code', {}, short(p.endpointId, 10))),
        el('td', {}, p.state),
        el('td', {}, el('span', { class: `badge ${p.sync}` }, p.sync)),
        el('td', {}, el('code', {}, (p.theirHeads ?? []).map((h) => short(h)).join(' ') || '—')),
        el('td', {}, p.lastSyncAt ? new Date(p.lastSyncAt).toLocaleTimeString() : '—'),
      ),
    )
  }
  return table
}

const pointName = (p: HistoryPoint) => (p === 'now' ? 'now' : `#${p.index + 1}`)

/** What the value section shows while a past version is selected: where we are, and what can be done. */
function pastBanner(): HTMLElement | string {
  const past = travel.past
  if (!past) return ''
  const button = (label: string, action: () => void, disabled = false) => {
    const b = el('button', { class: 'travel-action' }, label)
    if (disabled) b.setAttribute('disabled', '')
    b.addEventListener('click', action)
    return b
  }
  return el('div', { class: 'past-banner', role: 'status' },
    el('span', {}, `Viewing the document as of change ${pointName(past.at)} of ${travel.total}: read-only.`),
    button('Back to now', () => travel.backToNow()),
    button('Compare with now', () => void travel.compareWithNow()),
    button('Restore this version', () => void travel.restore(), ended || Boolean(state?.readOnly)),
  )
}

function diffSection(): HTMLElement | string {
  const d = travel.diff
  if (!d) return ''
  const { added, removed, changed } = d.diff
  const list = (mark: string, cls: string, paths: string[]) => paths.map((p) => el('li', { class: cls }, el('span', { class: 'mark' }, mark), el('code', {}, p)))
  const items = [...list('+', 'added', added), ...list('−', 'removed', removed), ...list('~', 'changed', changed)]
  return el('section', { class: 'diff' },
    el('h2', {}, `Changes from ${pointName(d.from)} to ${pointName(d.to)}`),
    items.length ? el('ul', { class: 'diff-list' }, ...items) : el('p', { class: 'empty' }, 'No differences.'),
  )
}

function historySection(s: DocView): HTMLElement {
  travel.setTotal(s.totalChanges)
  return el('section', {},
    el('h2', {}, `History (${s.totalChanges} ${s.totalChanges === 1 ? 'change' : 'changes'})`),
    el('p', { class: 'hint' }, 'Newest first. Click a change to see the document as of it (read-only); Shift+click another to compare the two.'),
    s.totalChanges ? travel.element() : el('p', { class: 'empty' }, 'No changes.'),
  )
}

function render(): void {
  if (!state) return
  if (editing) {
    pendingRender = true
    return
  }
  pendingRender = false
  const s = state
  const header = el('header', {},
    el('h1', {}, s.path ?? 'Document'),
    el('div', { class: 'meta' },
      el('code', { class: 'url', title: 'automerge URL' }, s.url),
      el('span', { class: 'heads', title: s.heads.join('\n') }, `heads ${s.heads.map((h) => short(h)).join(' ') || '—'}`),
      el('span', {}, `${s.totalChanges} ${s.totalChanges === 1 ? 'change' : 'changes'}`),
      ended ? el('span', { class: 'badge ended' }, 'session stopped: read-only') : '',
      !ended && s.readOnly ? el('span', { class: 'badge ended', title: s.readOnly }, 'directory: read-only') : '',
    ),
    !ended && s.readOnly ? el('p', { class: 'note' }, `Read-only: ${s.readOnly}`) : '',
    el('div', { id: 'status', class: 'status', role: 'status' }),
  )
  const shown = travel.past?.value ?? s.value
  const tree = el('section', { class: travel.past ? 'tree past' : 'tree' }, el('h2', {}, travel.past ? `Value as of change ${pointName(travel.past.at)}` : 'Value'), pastBanner())
  tree.append(shown ? node(undefined, shown, []) : el('p', { class: 'empty' }, 'The document is not available yet.'))
  // The history list is one element kept across renders: keep where the user scrolled it.
  const scrolled = document.querySelector('.history-list')?.scrollTop ?? 0
  app.replaceChildren(
    header,
    tree,
    diffSection(),
    el('section', {}, el('h2', {}, `Peers (${s.peers.length})`), peersTable(s.peers)),
    historySection(s),
  )
  const list = document.querySelector('.history-list')
  if (list && list.scrollTop !== scrolled) list.scrollTop = scrolled
}

window.addEventListener('message', (event: MessageEvent<HostToInspector>) => {
  const message = event.data
  if (!message || typeof message !== 'object') return
  if (travel.receive(message)) return
  switch (message.type) {
    case 'state':
      state = message.state
      // Kept by VS Code: after a window reload the panel comes back to this document (webviews/restore.ts).
      vscode.setState({ documentId: message.state.documentId, ...(message.state.path !== undefined && { path: message.state.path }) })
      break
    case 'doc':
      if (state) state = { ...state, ...message.doc }
      break
    case 'peers':
      if (state) state = { ...state, peers: message.peers }
      break
    case 'session-ended':
      ended = true
      break
    case 'result': {
      const what = pending.get(message.requestId) ?? 'edit'
      pending.delete(message.requestId)
      if (message.ok) setStatus(`${what}: done`)
      else setStatus(`${what}: ${message.error}`, 'error')
      return
    }
    default:
      return
  }
  render()
})

document.addEventListener('focusout', () => {
  if (!editing && pendingRender) render()
})

send({ type: 'ready' })
