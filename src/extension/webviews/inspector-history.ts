// Time travel in the inspector, host side: answers the page's requests for pages of the full history,
// the document at one change (read-only), the paths that differ between two points, and "restore"
// (one new change that makes the document equal to that point; history is never rewritten). The work
// is src/core/history's, reached through the lazily loaded engine like every Automerge value here.
import type { DocHandle } from '@automerge/automerge-repo/slim'
import type { HistoryPoint, HistoryRow, HostToInspector, InspectorTimeTravel } from '../../protocol/inspector'
import { loadEngine } from '../engine-loader'
import { toInspectorValue } from './inspector-model'

type Doc = Parameters<ReturnType<typeof loadEngine>['historyPage']>[0]

/** The heads a point names: one change's hash (the document as of that change), or the heads now. */
function headsOf(handle: DocHandle<unknown>, point: HistoryPoint): string[] {
  return point === 'now' ? (handle.heads() ?? []) : [point.hash]
}

/** Names the peers behind actors (Session.actorNames): 'you' or a peer's name. */
export type ActorNamer = (actors: string[]) => Promise<Record<string, { name: string }>>

/**
 * The answer to one time-travel request (`result` with an error when it cannot be answered). A history
 * page names who wrote each change when `names` can tell (it may ask peers: up to ~1.5 s).
 */
export async function answerTimeTravelNamed(handle: DocHandle<unknown>, message: InspectorTimeTravel, readOnlyReason: string | undefined, names?: ActorNamer): Promise<HostToInspector> {
  const answer = answerTimeTravel(handle, message, readOnlyReason)
  if (answer.type !== 'history-page' || !names) return answer
  try {
    const by = await names([...new Set(answer.changes.filter((c) => !c.mine).map((c) => c.actor))])
    return { ...answer, changes: answer.changes.map((c) => (c.mine ? { ...c, by: 'you' } : by[c.actor] ? { ...c, by: by[c.actor]!.name } : c)) }
  } catch {
    return answer // names are a nicety: the page without them
  }
}

/** The answer to one time-travel request (`result` with an error when it cannot be answered). */
export function answerTimeTravel(handle: DocHandle<unknown>, message: InspectorTimeTravel, readOnlyReason: string | undefined): HostToInspector {
  const fail = (error: string): HostToInspector => ({ type: 'result', requestId: message.requestId, ok: false, error })
  if (!handle.isReady()) return fail('the document is not available')
  const engine = loadEngine()
  const doc = handle.doc() as Doc
  try {
    switch (message.type) {
      case 'history': {
        const page = engine.historyPage(doc, message.offset, message.limit)
        const mine = engine.Automerge.getActorId(doc as never)
        const changes: HistoryRow[] = page.changes.map((c) => ({ index: c.index, hash: c.hash, actor: c.actor, seq: c.seq, time: c.time, message: c.message, ops: c.ops, mine: c.actor === mine }))
        return { type: 'history-page', requestId: message.requestId, offset: message.offset, total: page.total, changes }
      }
      case 'value-at':
        return { type: 'value-at', requestId: message.requestId, at: message.at, value: toInspectorValue(engine.valueAt(doc, headsOf(handle, message.at))) }
      case 'diff': {
        const diff = engine.diffPaths(doc, headsOf(handle, message.from), headsOf(handle, message.to))
        return { type: 'diff', requestId: message.requestId, from: message.from, to: message.to, diff }
      }
      case 'restore': {
        if (readOnlyReason) return fail(readOnlyReason)
        const target = engine.restoreTarget(doc, headsOf(handle, message.at))
        let writes = 0
        handle.change((draft) => {
          writes = engine.applyRestore(draft as Record<string, unknown>, target)
        }, { message: `inspector: restore the version of change ${message.at.index + 1} (${message.at.hash.slice(0, 8)})` })
        return writes === 0 ? fail('the document already equals that version: nothing to restore') : { type: 'result', requestId: message.requestId, ok: true }
      }
    }
  } catch (err) {
    return fail((err as Error).message)
  }
}
