// Applying a docs frame in time slices, so the event loop is never held for long (issue 18 item 1). A
// frame carries up to 2,000 documents at ~0.7–2 ms each to import; applied whole it held the loop for
// 1.4–4.5 s, and in VS Code's extension host that freezes every extension. The receiver applies
// documents until a slice's budget is spent, then yields one turn of the event loop (timers, I/O, the
// Repo's messages run), and goes on.
//
// Why this and not the alternatives (measured, bench row `catchup`, bench/results/NOTES.md):
// - Smaller frames lost (#7): between frames the source's own sync messages overtake the documents and
//   bring back automerge-repo's three rounds per document. Slicing keeps the 2,000-document frames, and
//   every document of a frame is accepted (so held: a sync message for it applies it first) before the
//   first yield but for those behind a directory not applied yet, which the first slices apply.
// - Running the engine in a worker thread moves the blocking off the extension host, but every view then
//   needs a message protocol for documents and trees, the native iroh addon must load in a worker, and
//   the engine's own loop (timers, keep-alives, other peers' sync) still stalls for seconds.
//
// TONK_BULK_SLICE_MS sets the budget; 0 applies frames whole, as before (the bench compares both, and
// the integration test proves it can fail with it).
export { SliceClock } from '../../util/slice-clock'

/** Default budget of one slice: well under the 20 ms p99 target, with room for what runs between. */
export const APPLY_SLICE_MS = 8

/** The slice budget from TONK_BULK_SLICE_MS (ms; 0: whole frames), else APPLY_SLICE_MS. */
export function sliceBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TONK_BULK_SLICE_MS
  if (raw === undefined || raw.trim() === '') return APPLY_SLICE_MS
  const ms = Number(raw)
  return Number.isFinite(ms) && ms >= 0 ? ms : APPLY_SLICE_MS
}
