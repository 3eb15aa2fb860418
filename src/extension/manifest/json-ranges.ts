// JSON pointer → offsets in a JSON text, so a manifest issue (`/sync/bundleId`) underlines the right
// characters. A small parser that records where every value and property key is; jsonc-parser would do
// this but is not a dependency, and tonk.json is strict JSON (JSON.parse reads it), so a strict parser
// is enough. On a syntax error it keeps what it found and reports the error's offset.

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

export function locateJson(text: string): JsonLocations {
  const nodes = new Map<string, Located>()
  let i = 0
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++
  }
  const fail = (): never => {
    throw new SyntaxAt(i)
  }
  const string = (): string => {
    if (text[i] !== '"') fail()
    const start = i++
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++
      else if (text.charCodeAt(i) < 0x20) fail()
      i++
    }
    if (i >= text.length) fail()
    i++
    return JSON.parse(text.slice(start, i)) as string
  }
  const value = (pointer: string, key?: Span): void => {
    ws()
    const start = i
    const c = text[i]
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') i++
      else {
        for (;;) {
          ws()
          const keyStart = i
          const name = string()
          const keySpan = { start: keyStart, end: i }
          ws()
          if (text[i] !== ':') fail()
          i++
          value(`${pointer}/${escapeToken(name)}`, keySpan)
          ws()
          if (text[i] === ',') {
            i++
            continue
          }
          if (text[i] === '}') {
            i++
            break
          }
          fail()
        }
      }
    } else if (c === '[') {
      i++
      ws()
      if (text[i] === ']') i++
      else {
        for (let n = 0; ; n++) {
          value(`${pointer}/${n}`)
          ws()
          if (text[i] === ',') {
            i++
            continue
          }
          if (text[i] === ']') {
            i++
            break
          }
          fail()
        }
      }
    } else if (c === '"') string()
    else {
      const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400))
      if (!m) fail()
      i += m![0].length
    }
    nodes.set(pointer, { value: { start, end: i }, ...(key && { key }) })
  }
  try {
    value('')
    ws()
    if (i < text.length) fail()
    return { nodes }
  } catch (err) {
    if (err instanceof SyntaxAt) return { nodes, errorAt: err.offset }
    throw err
  }
}

class SyntaxAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`)
  }
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
