// Pulls whole frames off an iroh RecvStream. The binding hands back number[] chunks (and [] at end of
// stream); the decoder copies them straight into frame buffers, so no intermediate Uint8Array.
// With a FrameBudget the reader also waits for budget before a large frame's payload is buffered, and
// drops a peer that holds a reserved, partly sent frame without sending more for `stallMs`.
import type { FrameBudget } from './frame-budget'
import { FrameDecoder, FrameError } from './framing'

/** The part of iroh's RecvStream the reader uses (a fake in unit tests). */
export interface ChunkSource {
  read(sizeLimit: number): Promise<number[]>
}

export const DEFAULT_FRAME_STALL_MS = 30_000

export interface FrameReaderOptions {
  readChunkBytes?: number
  onRead?: (bytes: number) => void
  /** The budget the decoder reserves from (the same one the decoder was built with). */
  budget?: FrameBudget
  stallMs?: number
}

export class FrameReader {
  private frames: Uint8Array[] = []
  private next_ = 0
  private ended = false
  private readonly closing = new AbortController()

  constructor(
    private readonly source: ChunkSource,
    readonly decoder: FrameDecoder,
    private readonly options: FrameReaderOptions = {},
  ) {}

  /** The next frame, or null at a clean end of stream. Throws FrameError, or the stream's own error. */
  async next(): Promise<Uint8Array | null> {
    while (this.next_ >= this.frames.length) {
      const waitingFor = this.decoder.waitingFor
      if (waitingFor !== undefined) {
        await this.options.budget!.take(waitingFor, this.closing.signal)
        this.frames = this.decoder.resume()
        this.next_ = 0
        continue
      }
      if (this.ended) {
        this.decoder.end()
        return null
      }
      const chunk = await this.read()
      if (chunk.length === 0) {
        this.ended = true
        continue
      }
      this.options.onRead?.(chunk.length)
      this.frames = this.decoder.push(chunk)
      this.next_ = 0
    }
    return this.frames[this.next_++]!
  }

  /** Stops waiting for budget and gives back what the decoder holds. Call when the stream is done with. */
  close(): void {
    this.closing.abort()
    this.decoder.release()
  }

  private read(): Promise<number[]> {
    const read = this.source.read(this.options.readChunkBytes ?? 64 * 1024)
    if (!this.decoder.holdsReservation) return read
    // A reserved frame is a share of a budget everyone needs: whoever sits on one without sending goes.
    const stallMs = this.options.stallMs ?? DEFAULT_FRAME_STALL_MS
    let timer: NodeJS.Timeout | undefined
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new FrameError('E_FRAME_STALLED', `a ${this.decoder.bufferedBytes}-byte partial frame got no more bytes for ${stallMs} ms`)),
        stallMs,
      )
    })
    return Promise.race([read, stalled]).finally(() => clearTimeout(timer))
  }
}
