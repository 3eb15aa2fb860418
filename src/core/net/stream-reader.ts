// Pulls whole frames off an iroh RecvStream. The binding hands back number[] chunks (and [] at end of
// stream); the decoder copies them straight into frame buffers, so no intermediate Uint8Array.
import { FrameDecoder } from './framing'

/** The part of iroh's RecvStream the reader uses (a fake in unit tests). */
export interface ChunkSource {
  read(sizeLimit: number): Promise<number[]>
}

export class FrameReader {
  private frames: Uint8Array[] = []
  private next_ = 0
  private ended = false

  constructor(
    private readonly source: ChunkSource,
    readonly decoder: FrameDecoder,
    private readonly options: { readChunkBytes?: number; onRead?: (bytes: number) => void } = {},
  ) {}

  /** The next frame, or null at a clean end of stream. Throws FrameError, or the stream's own error. */
  async next(): Promise<Uint8Array | null> {
    while (this.next_ >= this.frames.length) {
      if (this.ended) {
        this.decoder.end()
        return null
      }
      const chunk = await this.source.read(this.options.readChunkBytes ?? 1024 * 1024)
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
}
