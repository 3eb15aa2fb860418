// Applying a docs frame in time slices, so the event loop is never held for long (issue 18 item 1). A
// frame carries up to 2,000 documents at ~0.7–2 ms each to import; applied whole it held the loop for
// 1.4–4.5 s, and in VS Code's extension host that freezes every extension. The receiver applies
// documents until a slice's budget is spent, yields one turn of the event loop (timers, I/O, other
// peers run), and goes on. Two more parts make it work (bench row `catchup`, bench/results/NOTES.md):
// - The sending peer's stream is held unread until the frame is applied (ExtensionChannel.holdReading,
//   receiver.ts). Without it, the peer's Repo sync messages read between slices overtook the documents:
//   ~1,200 of them were handled during a 2,000-document catch-up instead of 3, and it took 1.3–1.7×
//   as long. That is why smaller frames lost before (#7); holding the stream is "holding the source's
//   sync back" done on the receiving side, so peers of the previous version need no change and the wire
//   format is the same. QUIC flow control pushes back on the sender as a blocked loop did.
// - The sender holds its Repo's messages to the peer until its last frame is queued
//   (ExtensionChannel.holdRepoMessages, bulk.ts serve): with more than one frame (5,000 documents are
//   3), the sync messages sent between frames otherwise still reached the receiver before frames 2 and 3.
//   A sender of the previous version does not hold them: its peers get a slower, still sliced catch-up.
// - The link's read loop yields every 8 ms too (net/links.ts): one read chunk holds many frames.
// Not taken: running the engine in a worker thread. It moves the stall off the extension host's loop,
// but every view then needs a message protocol for documents and trees, iroh's native addon must load
// in a worker, and the engine's own loop (keep-alives, other peers' sync) still stalls for seconds.
//
// TONK_BULK_SLICE_MS sets the budget; 0 applies frames whole without holding the stream, as before
// (the bench compares both; the integration test fails that way).
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
