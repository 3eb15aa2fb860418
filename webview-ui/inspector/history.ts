// Time travel in the inspector, page side: the whole history as a virtualised list (only the rows in
// view exist in the DOM; pages of 200 are asked for as they scroll into view), newest first. Select a
// change (click, or arrows + Enter) to see the document as of that change, read-only; Shift+click a
// second one to compare two points, or compare one with now; "Restore this version" asks the host for
// one new change. Everything is computed by the host (inspector-history.ts): this holds no document.
import type { HistoryPoint, HistoryRow, HostToInspector, InspectorToHost, InspectorValue, PathDiffView } from '../../src/protocol/inspector'

const ROW_PX = 24
const VISIBLE_ROWS = 12
const PAGE = 200

type Answer = Extract<HostToInspector, { type: 'history-page' | 'value-at' | 'diff' | 'result' }>

export interface TimeTravelHost {
  send(message: InspectorToHost): void
  nextRequestId(): number
  /** The page re-renders the inspector (the value section shows the past value, the diff, a banner). */
  changed(): void
  status(text: string, kind?: 'info' | 'error'): void
  /** Restoring is an edit: refused when the document is read-only here. */
  locked(): boolean
}

export class TimeTravel {
  total = 0
  private readonly rows = new Map<number, HistoryRow>()
  private readonly asked = new Set<number>()
  /** Change indexes: the one viewed, and the one it is compared with (Shift+click). */
  selected: number | undefined
  compareWith: number | undefined
  /** What the value section shows instead of the live document, when set. */
  past: { at: HistoryPoint; value: InspectorValue } | undefined
  diff: { from: HistoryPoint; to: HistoryPoint; diff: PathDiffView } | undefined
  private readonly waiting = new Map<number, (m: Answer) => void>()
  private readonly list: HTMLElement
  private readonly spacer: HTMLElement
  private readonly rowsLayer: HTMLElement

  constructor(private readonly host: TimeTravelHost) {
    this.list = document.createElement('div')
    this.list.className = 'history-list'
    this.list.tabIndex = 0
    this.list.setAttribute('role', 'listbox')
    this.list.setAttribute('aria-label', 'History, newest first: arrows move, Enter shows that version, Shift+Enter compares')
    this.spacer = document.createElement('div')
    this.rowsLayer = document.createElement('div')
    this.rowsLayer.className = 'history-rows'
    this.list.append(this.spacer, this.rowsLayer)
    this.list.addEventListener('scroll', () => this.draw())
    this.list.addEventListener('keydown', (e) => this.key(e))
  }

  /** The document has `total` changes now: new ones are fetched when they come into view. */
  setTotal(total: number): void {
    if (total === this.total) return
    if (total < this.total) this.rows.clear() // another document state (should not happen): start over
    this.total = total
    this.asked.clear()
    this.draw()
  }

  /** The persistent list element (kept across renders so its scroll position stays). */
  element(): HTMLElement {
    this.draw()
    return this.list
  }

  /** Routes an answer to its request; true when it was one of ours. */
  receive(message: HostToInspector): boolean {
    if (!('requestId' in message)) return false
    const done = this.waiting.get(message.requestId)
    if (!done) return false
    this.waiting.delete(message.requestId)
    done(message as Answer)
    return true
  }

  private ask(message: Record<string, unknown> & { type: string }): Promise<Answer> {
    const requestId = this.host.nextRequestId()
    return new Promise((resolve) => {
      this.waiting.set(requestId, resolve)
      this.host.send({ ...message, requestId } as InspectorToHost)
    })
  }

  private indexAtRow(row: number): number {
    return this.total - 1 - row
  }

  private draw(): void {
    // As tall as the history, up to VISIBLE_ROWS rows; beyond that it scrolls.
    this.list.style.height = `${ROW_PX * Math.max(1, Math.min(this.total, VISIBLE_ROWS)) + 2}px`
    this.spacer.style.height = `${this.total * ROW_PX}px`
    const first = Math.max(0, Math.floor(this.list.scrollTop / ROW_PX) - 2)
    const last = Math.min(this.total - 1, first + VISIBLE_ROWS + 4)
    const nodes: HTMLElement[] = []
    for (let row = first; row <= last; row++) {
      const index = this.indexAtRow(row)
      const change = this.rows.get(index)
      if (!change) this.fetch(index)
      nodes.push(this.rowNode(row, index, change))
    }
    this.rowsLayer.replaceChildren(...nodes)
  }

  private fetch(index: number): void {
    const offset = Math.floor(index / PAGE) * PAGE
    if (this.asked.has(offset)) return
    this.asked.add(offset)
    void this.ask({ type: 'history', offset, limit: PAGE }).then((m) => {
      if (m.type !== 'history-page') return this.host.status(m.type === 'result' && !m.ok ? m.error : 'history: no answer', 'error')
      for (const c of m.changes) this.rows.set(c.index, c)
      if (m.total !== this.total) this.setTotal(m.total)
      else this.draw()
    })
  }

  private rowNode(row: number, index: number, c: HistoryRow | undefined): HTMLElement {
    const node = document.createElement('div')
    node.className = 'history-row'
    node.style.top = `${row * ROW_PX}px`
    node.setAttribute('role', 'option')
    node.dataset.index = String(index)
    const isSelected = index === this.selected
    const isCompared = index === this.compareWith
    node.setAttribute('aria-selected', String(isSelected))
    if (isSelected) node.classList.add('selected')
    if (isCompared) node.classList.add('compared')
    if (!c) {
      node.textContent = `#${index + 1} …`
      return node
    }
    const cell = (cls: string, text: string, title?: string) => {
      const span = document.createElement('span')
      span.className = cls
      span.textContent = text
      if (title) span.title = title
      return span
    }
    node.append(
      cell('n', `#${index + 1}`),
      cell('time', c.time ? new Date(c.time).toLocaleString() : '—'),
      // Who wrote it: you, a peer by name (its own word), or the actor's id when nobody said.
      cell('actor', c.mine ? 'you' : (c.by ?? c.actor.slice(0, 8)), c.by && !c.mine ? `${c.by} (actor ${c.actor}, as that peer says)` : c.actor),
      cell('message', c.message ?? `${c.ops} ${c.ops === 1 ? 'op' : 'ops'}`),
      cell('hash', c.hash.slice(0, 8), c.hash),
    )
    node.addEventListener('click', (e) => (e.shiftKey ? this.compare(index) : this.select(index)))
    return node
  }

  private point(index: number | undefined): HistoryPoint | undefined {
    if (index === undefined) return 'now'
    const c = this.rows.get(index)
    return c ? { index, hash: c.hash } : undefined
  }

  /** Shows the document as of change `index` (read-only). */
  async select(index: number): Promise<void> {
    const at = this.point(index)
    if (!at || at === 'now') return
    this.selected = index
    this.compareWith = undefined
    this.diff = undefined
    this.draw()
    const m = await this.ask({ type: 'value-at', at })
    if (m.type === 'value-at' && this.selected === index) this.past = { at: m.at, value: m.value }
    else if (m.type === 'result' && !m.ok) this.host.status(m.error, 'error')
    this.host.changed()
  }

  /** Compares the selected change with `index` (the older one first). */
  async compare(index: number): Promise<void> {
    if (this.selected === undefined) return this.select(index)
    this.compareWith = index
    this.draw()
    const [a, b] = [Math.min(index, this.selected), Math.max(index, this.selected)]
    await this.showDiff(this.point(a), this.point(b))
  }

  /** The selected change against the document now. */
  async compareWithNow(): Promise<void> {
    if (this.selected === undefined) return
    this.compareWith = undefined
    this.draw()
    await this.showDiff(this.point(this.selected), 'now')
  }

  private async showDiff(from: HistoryPoint | undefined, to: HistoryPoint | undefined): Promise<void> {
    if (!from || !to) return
    const m = await this.ask({ type: 'diff', from, to })
    if (m.type === 'diff') this.diff = { from: m.from, to: m.to, diff: m.diff }
    else if (m.type === 'result' && !m.ok) this.host.status(m.error, 'error')
    this.host.changed()
  }

  async restore(): Promise<void> {
    const at = this.point(this.selected)
    if (!at || at === 'now' || this.host.locked()) return
    this.host.status(`restoring the version of change #${at.index + 1}…`)
    const m = await this.ask({ type: 'restore', at })
    if (m.type === 'result') {
      if (m.ok) {
        this.host.status(`restored the version of change #${at.index + 1} as a new change`)
        this.backToNow()
      } else this.host.status(m.error, 'error')
    }
  }

  backToNow(): void {
    this.selected = undefined
    this.compareWith = undefined
    this.past = undefined
    this.diff = undefined
    this.draw()
    this.host.changed()
  }

  private key(e: KeyboardEvent): void {
    if (this.total === 0) return
    const current = this.selected ?? this.total
    let next: number | undefined
    if (e.key === 'ArrowDown') next = Math.max(0, current - 1)
    else if (e.key === 'ArrowUp') next = Math.min(this.total - 1, current + 1)
    else if (e.key === 'Home') next = this.total - 1
    else if (e.key === 'End') next = 0
    else if (e.key === 'Escape') return this.backToNow()
    else if (e.key === 'Enter' && this.selected !== undefined) {
      if (e.shiftKey) void this.compareWithNow()
      return
    }
    if (next === undefined) return
    e.preventDefault()
    const row = this.total - 1 - next
    if (row * ROW_PX < this.list.scrollTop) this.list.scrollTop = row * ROW_PX
    else if ((row + 1) * ROW_PX > this.list.scrollTop + this.list.clientHeight) this.list.scrollTop = (row + 1) * ROW_PX - this.list.clientHeight
    if (this.rows.has(next)) void this.select(next)
    else this.fetch(next)
  }
}
