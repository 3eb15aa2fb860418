// One write queue per iroh SendStream. Two `writeAll` calls in flight on one stream reorder data
// (measured: thousands of 20,000 frames out of order), so exactly one write is ever pending here.
// Small frames are coalesced into one write: the per-call cost of the binding dominates for small
// frames (200-byte frames: ~20k/s one per write, 39–58k/s batched).
import { copyIntoNumberArray } from './bytes'
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, tooLarge, writeFrameHeader } from './framing'

/** The part of iroh's SendStream the writer uses (a fake in unit tests). */
export interface FrameSink {
  writeAll(buf: number[]): Promise<void>
  finish(): Promise<void>
}

export type StreamWriterErrorCode = 'E_STREAM_CLOSED' | 'E_QUEUE_FULL' | 'E_STREAM_FAILED'

export class StreamWriterError extends Error {
  override name = 'StreamWriterError'
  constructor(
    readonly code: StreamWriterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface StreamWriterOptions {
  maxFrameBytes?: number
  /** Frames are packed into one write up to this many bytes (a larger frame goes alone). */
  batchBytes?: number
  /** `send()` resolves once the queue (headers included) is at or under this. */
  highWaterMark?: number
  /** `enqueue()` refuses beyond this: a peer that does not read must not grow our memory forever. */
  hardLimitBytes?: number
  /** Called after each completed write with its size in bytes. */
  onWrite?: (bytes: number) => void
}

export class StreamWriter {
  readonly maxFrameBytes: number
  readonly batchBytes: number
  readonly highWaterMark: number
  readonly hardLimitBytes: number
  private readonly queue: Array<Uint8Array | undefined> = []
  private head = 0
  private queued = 0
  private written = 0
  private pumping = false
  private closing: Promise<void> | undefined
  private failure: StreamWriterError | undefined
  private drainWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  private idleWaiters: Array<() => void> = []

  constructor(
    private readonly sink: FrameSink,
    private readonly options: StreamWriterOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.batchBytes = options.batchBytes ?? 64 * 1024
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024
    this.hardLimitBytes = Math.max(options.hardLimitBytes ?? 64 * 1024 * 1024, this.maxFrameBytes + FRAME_HEADER_BYTES)
  }

  /** Bytes accepted but not yet written (headers included). */
  get queuedBytes(): number {
    return this.queued
  }

  /** Bytes handed to the stream so far (headers included). */
  get bytesWritten(): number {
    return this.written
  }

  get error(): StreamWriterError | undefined {
    return this.failure
  }

  get isClosed(): boolean {
    return this.closing !== undefined || this.failure !== undefined
  }

  /**
   * Queues one frame without waiting. Throws (synchronously) when the writer is closed or failed,
   * the frame is too large, or the queue is past its hard limit. Returns whether the queue is still
   * at or under the high-water mark.
   */
  enqueue(payload: Uint8Array): boolean {
    if (this.failure) throw this.failure
    if (this.closing) throw new StreamWriterError('E_STREAM_CLOSED', 'stream writer is closed')
    if (payload.length > this.maxFrameBytes) throw tooLarge(payload.length, this.maxFrameBytes)
    const size = FRAME_HEADER_BYTES + payload.length
    if (this.queued + size > this.hardLimitBytes) {
      throw new StreamWriterError(
        'E_QUEUE_FULL',
        `write queue would hold ${this.queued + size} bytes, over its limit of ${this.hardLimitBytes}: the peer is not reading`,
      )
    }
    this.queue.push(payload)
    this.queued += size
    if (!this.pumping) {
      // Write on the next microtask, not now: the caller's synchronous work (automerge-repo applying a
      // change and emitting it) is not held up by the binding's copy, and frames queued in the same
      // tick (a sync round for many documents) go out in one write.
      this.pumping = true
      queueMicrotask(() => void this.pump())
    }
    return this.queued <= this.highWaterMark
  }

  /** Queues one frame; resolves once the queue is back at or under the high-water mark. */
  send(payload: Uint8Array): Promise<void> {
    try {
      if (this.enqueue(payload)) return Promise.resolve()
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }))
  }

  /** Writes everything queued, then finishes the stream. Never rejects; see `error` afterwards. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.idle()
      if (this.failure) return
      try {
        await this.sink.finish()
      } catch (err) {
        this.fail(new StreamWriterError('E_STREAM_FAILED', `finishing the stream failed: ${String(err)}`, { cause: err }))
      }
    })()
    return this.closing
  }

  /** Drops whatever is queued (the connection is going away anyway). */
  abort(reason = 'stream writer aborted'): void {
    if (!this.failure) this.fail(new StreamWriterError('E_STREAM_CLOSED', reason))
  }

  private idle(): Promise<void> {
    if (!this.pumping) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      while (this.head < this.queue.length && !this.failure) {
        // Take frames in order until the batch is full; a frame larger than a batch goes alone.
        let size = 0
        let end = this.head
        while (end < this.queue.length) {
          const next = FRAME_HEADER_BYTES + this.queue[end]!.length
          if (end > this.head && size + next > this.batchBytes) break
          size += next
          end++
        }
        const buf = new Array<number>(size)
        let offset = 0
        for (let i = this.head; i < end; i++) {
          const payload = this.queue[i]!
          this.queue[i] = undefined // written frames must not stay reachable until compaction
          writeFrameHeader(buf, offset, payload.length)
          offset = copyIntoNumberArray(buf, offset + FRAME_HEADER_BYTES, payload)
        }
        this.head = end
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head)
          this.head = 0
        }
        try {
          await this.sink.writeAll(buf)
        } catch (err) {
          this.fail(new StreamWriterError('E_STREAM_FAILED', `write failed: ${String(err)}`, { cause: err }))
          break
        }
        this.queued -= size
        this.written += size
        this.options.onWrite?.(size)
        if (this.queued <= this.highWaterMark && this.drainWaiters.length > 0) {
          const waiters = this.drainWaiters
          this.drainWaiters = []
          for (const w of waiters) w.resolve()
        }
      }
    } finally {
      this.pumping = false
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
    }
  }

  private fail(error: StreamWriterError): void {
    this.failure ??= error
    this.queue.length = 0
    this.head = 0
    this.queued = 0
    const waiters = this.drainWaiters
    this.drainWaiters = []
    for (const w of waiters) w.reject(this.failure)
  }
}
