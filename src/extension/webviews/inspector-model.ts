// The inspector's view of a document, and its edits, as plain functions over Automerge values (no
// vscode, no engine import: Automerge's special values are recognized by the global symbols it marks
// them with, so this works on documents from the engine bundle's Automerge).
import type { DocHandle } from '@automerge/automerge-repo/slim'
import type { HistoryEntry, InspectorEdit, InspectorValue, ValuePath } from '../../protocol/inspector'

const COUNTER = Symbol.for('_am_counter')
const IMMUTABLE_STRING = Symbol.for('_am_immutableString')

/** Bounds on what one update carries, so a huge document cannot stall the webview. */
export const LIMITS = { nodes: 20_000, bytesHex: 32, history: 50 }

/** Converts a document (or part of it) into the inspector's tagged tree. */
export function toInspectorValue(value: unknown, budget = { nodes: LIMITS.nodes }): InspectorValue {
  if (--budget.nodes < 0) return { kind: 'other', text: '… (too large to show)' }
  if (value === null || value === undefined) return { kind: 'null' }
  switch (typeof value) {
    case 'string':
      return { kind: 'string', value }
    case 'number':
      return { kind: 'number', value }
    case 'boolean':
      return { kind: 'boolean', value }
    case 'bigint':
      return { kind: 'other', text: `${value}n` }
    case 'object':
      break
    default:
      return { kind: 'other', text: String(value) }
  }
  const obj = value as Record<PropertyKey, unknown>
  if (COUNTER in obj) return { kind: 'counter', value: Number((obj as { value?: unknown }).value ?? 0) }
  if (IMMUTABLE_STRING in obj) return { kind: 'string', value: String((obj as { val?: unknown }).val ?? '') }
  if (value instanceof Date) return { kind: 'date', value: value.toISOString() }
  if (value instanceof Uint8Array) {
    const hex = Array.from(value.subarray(0, LIMITS.bytesHex), (b) => b.toString(16).padStart(2, '0')).join('')
    return { kind: 'bytes', length: value.length, hex }
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map((v) => toInspectorValue(v, budget)) }
  return { kind: 'object', entries: Object.keys(obj).map((k) => [k, toInspectorValue(obj[k], budget)]) }
}

/** The last `limit` changes, newest first, and how many there are. */
export function docHistory(handle: DocHandle<unknown>, limit = LIMITS.history): { history: HistoryEntry[]; totalChanges: number } {
  const all = handle.history() ?? []
  const history: HistoryEntry[] = []
  for (const heads of all.slice(-limit).reverse()) {
    const hash = heads[0]
    const meta = hash ? handle.metadata(hash) : undefined
    if (!hash || !meta) continue
    history.push({ hash, actor: meta.actor, seq: meta.seq, time: meta.time * 1000, message: meta.message ?? null, ops: meta.ops?.length ?? 0 })
  }
  return { history, totalChanges: all.length }
}

export class EditError extends Error {}

/** `a.b[2].c`, for messages and change descriptions. */
export function formatPath(path: ValuePath): string {
  return path.length === 0 ? '(root)' : path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('')
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null && !(COUNTER in v) && !(IMMUTABLE_STRING in v) && !(v instanceof Date) && !(v instanceof Uint8Array)
}

function step(container: unknown, seg: string | number, path: ValuePath): unknown {
  if (Array.isArray(container)) {
    if (typeof seg !== 'number' || seg >= container.length) throw new EditError(`${formatPath(path)}: no element ${String(seg)}`)
    return container[seg]
  }
  if (!isContainer(container) || typeof seg !== 'string' || !Object.prototype.hasOwnProperty.call(container, seg)) {
    throw new EditError(`${formatPath(path)}: no key ${JSON.stringify(seg)}`)
  }
  return (container as Record<string, unknown>)[seg]
}

/** The change message an edit is committed with (shows in every peer's history). */
export function describeEdit(edit: InspectorEdit): string {
  if (edit.type === 'add-key') return `inspector: add ${formatPath([...edit.path, edit.key])}`
  return `inspector: ${edit.type} ${formatPath(edit.path)}`
}

/**
 * Applies an edit to the mutable draft inside `handle.change`. Throws EditError (nothing changed) when
 * the path does not lead where the edit needs it.
 */
export function applyEdit(draft: unknown, edit: InspectorEdit): void {
  const parentPath = edit.type === 'add-key' ? edit.path : edit.path.slice(0, -1)
  let parent: unknown = draft
  parentPath.forEach((seg, i) => (parent = step(parent, seg, edit.path.slice(0, i + 1))))
  if (!isContainer(parent)) throw new EditError(`${formatPath(parentPath)} is not an object or a list`)
  const value = edit.type === 'delete' ? undefined : structuredClone(edit.value)
  if (edit.type === 'add-key') {
    if (Array.isArray(parent)) throw new EditError(`${formatPath(parentPath)} is a list: keys are added to objects`)
    if (Object.prototype.hasOwnProperty.call(parent, edit.key)) throw new EditError(`${formatPath([...parentPath, edit.key])} exists already`)
    parent[edit.key] = value
    return
  }
  const last = edit.path[edit.path.length - 1]!
  step(parent, last, edit.path) // must exist
  if (Array.isArray(parent)) {
    if (edit.type === 'delete') parent.splice(last as number, 1)
    else parent[last as number] = value
  } else {
    const record = parent as Record<string, unknown>
    if (edit.type === 'delete') delete record[last as string]
    else record[last as string] = value
  }
}
