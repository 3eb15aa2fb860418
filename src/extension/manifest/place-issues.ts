// Bundle issues → spans of the tonk.json text (plain, unit-tested): what diagnostics.ts turns into
// Problems-panel entries.
import type { Issue } from '../../core/bundle'
import { locateJson, rangeFor, type Span } from './json-ranges'

export interface PlacedIssue extends Span {
  issue: Issue
  /** The text was not valid JSON (the issue is placed at the syntax error). */
  syntax?: boolean
}

/** Codes the "Recompute files and bundleId" quick fix repairs. */
export const RECOMPUTABLE = new Set(['E_FILES_STALE', 'E_BUNDLE_ID_STALE', 'E_ROOT_DOCUMENT'])

export function placeIssues(text: string, issues: readonly Issue[]): PlacedIssue[] {
  const located = locateJson(text)
  return issues.map((issue) => {
    if (issue.code === 'E_MANIFEST_JSON' && located.errorAt !== undefined) {
      const at = Math.min(located.errorAt, Math.max(0, text.length - 1))
      return { issue, start: at, end: Math.min(text.length, at + 1), syntax: true }
    }
    const prefer = issue.message.startsWith('unknown field') ? 'key' : 'value'
    const { start, end } = rangeFor(text, located, { pointer: issue.pointer, path: issue.path, prefer })
    return { issue, start, end }
  })
}
