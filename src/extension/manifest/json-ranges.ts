// JSON pointer → offsets in a JSON text, so a manifest issue (`/sync/bundleId`) underlines the right
// characters. jsonc-parser (VS Code's own JSON parser) builds the tree with offsets and keeps what it
// parsed past a syntax error; comments and trailing commas are reported as errors since tonk.json is
// strict JSON (JSON.parse reads it).
import { parseTree, type Node, type ParseError } from 'jsonc-parser'

export interface Span {
  start: number
  end: number
}

export interface Located {
  /** The value at the pointer. */
  value: Span
  /** The property name, for object members. */
  key?: Span
}

export interface JsonLocations {
  /** By JSON pointer ('' is the whole document). */
  nodes: Map<string, Located>
  /** Offset of the first syntax error, if any. */
  errorAt?: number
}

const escapeToken = (t: string) => t.replace(/~/g, '~0').replace(/\//g, '~1')
const spanOf = (n: Node): Span => ({ start: n.offset, end: n.offset + n.length })

export function locateJson(text: string): JsonLocations {
  const nodes = new Map<string, Located>()
  const errors: ParseError[] = []
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false })
  const visit = (node: Node, pointer: string, key?: Node) => {
    nodes.set(pointer, { value: spanOf(node), ...(key && { key: spanOf(key) }) })
    if (node.type === 'object') {
      for (const member of node.children ?? []) {
        const [name, value] = member.children ?? []
        // a duplicate key: the last one wins, as in JSON.parse
        if (name && value) visit(value, `${pointer}/${escapeToken(String(name.value))}`, name)
      }
    } else if (node.type === 'array') {
      node.children?.forEach((item, i) => visit(item, `${pointer}/${i}`))
    }
  }
  if (root) visit(root, '')
  return errors.length > 0 ? { nodes, errorAt: errors[0]!.offset } : { nodes }
}

export interface IssueTarget {
  pointer?: string
  path?: string
  /** 'key' underlines a property name (an unknown field), 'value' its value. */
  prefer?: 'key' | 'value'
}

/**
 * Where to underline an issue: the value (or key) at its pointer; a missing member's closest existing
 * parent (its key); for a file issue without a pointer, the first string equal to the path; else the
 * first line. `exact` says whether the pointer itself was found.
 */
export function rangeFor(text: string, located: JsonLocations, target: IssueTarget): Span & { exact: boolean } {
  if (target.pointer !== undefined) {
    const hit = located.nodes.get(target.pointer)
    if (hit) {
      const span = target.prefer === 'key' && hit.key ? hit.key : hit.value
      return { ...shorten(text, span), exact: true }
    }
    for (let p = parentPointer(target.pointer); p !== undefined; p = parentPointer(p)) {
      const parent = located.nodes.get(p)
      if (parent) return { ...(parent.key ?? { start: parent.value.start, end: parent.value.start + 1 }), exact: false }
    }
  }
  if (target.path) {
    const needle = JSON.stringify(target.path)
    for (const [, node] of located.nodes) {
      if (text.slice(node.value.start, node.value.end) === needle) return { ...node.value, exact: false }
    }
  }
  const firstLineEnd = text.indexOf('\n')
  return { start: 0, end: firstLineEnd < 0 ? text.length : firstLineEnd, exact: false }
}

/** A multi-line object or array is underlined on its first line only. */
function shorten(text: string, span: Span): Span {
  const nl = text.indexOf('\n', span.start)
  return nl >= 0 && nl < span.end ? { start: span.start, end: nl } : span
}

function parentPointer(pointer: string): string | undefined {
  if (pointer === '') return undefined
  return pointer.slice(0, pointer.lastIndexOf('/'))
}
