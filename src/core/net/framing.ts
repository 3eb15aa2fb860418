// Length-prefixed frames: a u32 big-endian payload length, then the payload. The decoder checks the
// declared length against `maxFrameBytes` before it allocates or buffers any of the payload, so a
// peer cannot make us hold more than one maximal frame (plus a 4-byte header) per stream; with a
// FrameBudget a large frame also reserves its length from a budget all streams share first.
import { RESERVE_ABOVE_BYTES, type FrameBudget } from './frame-budget'

export const FRAME_HEADER_BYTES = 4
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
/**
 * The most a setting or flag may raise the frame limit to. Each peer may hold one partial frame of the
 * limit in memory, so the limit is a per-peer memory grant: 4 GiB (the u32 maximum) would let ten
 * peers ask for 40 GiB. 256 MiB still carries a very large document in one sync message.
 */
export const MAX_FRAME_LIMIT_BYTES = 256 * 1024 * 1024

/** A configured frame limit, clamped to [1 KiB, MAX_FRAME_LIMIT_BYTES] (only the top matters for memory); undefined or NaN → the default. */
export function clampFrameLimit(value: number | undefined): number {
  if (value === undefined || !Number.isFinite(value)) return DEFAULT_MAX_FRAME_BYTES
  return Math.min(MAX_FRAME_LIMIT_BYTES, Math.max(1024, Math.floor(value)))
}
const U32_MAX = 0xffff_ffff

export type FrameErrorCode = 'E_FRAME_TOO_LARGE' | 'E_FRAME_MALFORMED' | 'E_FRAME_STALLED'

export class FrameError extends Error {
  override name = 'FrameError'
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message)
  }
}

function checkMax(maxFrameBytes: number): number {
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > U32_MAX) {
    throw new RangeError(`maxFrameBytes must be an integer in [0, ${U32_MAX}], got ${maxFrameBytes}`)
  }
  return maxFrameBytes
}

export function tooLarge(length: number, maxFrameBytes: number): FrameError {
  return new FrameError('E_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${maxFrameBytes} bytes`)
}

/** Writes the 4-byte header for a payload of `length` bytes. */
export function writeFrameHeader(target: Uint8Array | number[], offset: number, length: number): void {
  target[offset] = (length >>> 24) & 0xff
  target[offset + 1] = (length >>> 16) & 0xff
  target[offset + 2] = (length >>> 8) & 0xff
  target[offset + 3] = length & 0xff
}

/** One frame as bytes: header + payload. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (payload.length > maxFrameBytes) throw tooLarge(payload.length, maxFrameBytes)
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(out, 0, payload.length)
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

/**
 * Streaming decoder: feed it chunks of any size (Uint8Array, or the binding's number[]), get back the
 * whole frames they complete. After a FrameError it stays failed: the stream is out of sync for good.
 */
export class FrameDecoder {
  private maxBytes: number
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES)
  private headerFilled = 0
  private payload: Uint8Array | undefined
  private payloadFilled = 0
  private failure: FrameError | undefined
  private readonly budget: FrameBudget | undefined
  /** Bytes this decoder holds of the budget (the current large frame's share). */
  private reserved = 0
  /** A large frame's header was read but the budget had no room: the rest of the chunk waits here. */
  private stash: { chunk: ArrayLike<number>; offset: number; bytes: number } | undefined

  constructor(options: { maxFrameBytes?: number; budget?: FrameBudget } = {}) {
    this.maxBytes = checkMax(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    this.budget = options.budget
  }

  /** Budget bytes the decoder waits for before it can go on (see `resume`), or undefined. */
  get waitingFor(): number | undefined {
    return this.stash?.bytes
  }

  /** The reader got `waitingFor` bytes of the budget (budget.take): go on with the stashed chunk. */
  resume(): Uint8Array[] {
    const stash = this.stash
    if (!stash) return []
    this.stash = undefined
    this.reserved = Math.min(stash.bytes, this.budget!.limitBytes)
    this.payload = new Uint8Array(stash.bytes)
    this.payloadFilled = 0
    return this.decode(stash.chunk, stash.offset)
  }

  /** Gives back what the decoder holds of the budget (the stream is done with, for whatever reason). */
  release(): void {
    if (this.reserved > 0) this.budget?.give(this.reserved)
    this.reserved = 0
    this.stash = undefined
  }

  get maxFrameBytes(): number {
    return this.maxBytes
  }

  /** Changes the limit for frames whose header has not been read yet (the handshake uses a small one). */
  set maxFrameBytes(value: number) {
    this.maxBytes = checkMax(value)
  }

  /** True while a large frame (one that reserved budget) is partly received. */
  get holdsReservation(): boolean {
    return this.reserved > 0
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.headerFilled + this.payloadFilled
  }

  push(chunk: ArrayLike<number>): Uint8Array[] {
    if (this.failure) throw this.failure
    if (this.stash) throw new Error('FrameDecoder.push while waiting for frame budget: call resume() first')
    return this.decode(chunk, 0)
  }

  private decode(chunk: ArrayLike<number>, from: number): Uint8Array[] {
    const frames: Uint8Array[] = []
    const n = chunk.length
    let i = from
    while (i < n) {
      if (this.payload === undefined) {
        while (this.headerFilled < FRAME_HEADER_BYTES && i < n) this.header[this.headerFilled++] = chunk[i++]!
        if (this.headerFilled < FRAME_HEADER_BYTES) break
        const h = this.header
        const length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
        if (length > this.maxBytes) throw this.fail(tooLarge(length, this.maxBytes))
        if (this.budget && length > RESERVE_ABOVE_BYTES) {
          const share = Math.min(length, this.budget.limitBytes)
          if (!this.budget.tryTake(share)) {
            this.stash = { chunk, offset: i, bytes: length }
            return frames
          }
          this.reserved = share
        }
        this.payload = new Uint8Array(length)
        this.payloadFilled = 0
      }
      const payload = this.payload
      const take = Math.min(payload.length - this.payloadFilled, n - i)
      if (take > 0) {
        if (chunk instanceof Uint8Array) {
          payload.set(chunk.subarray(i, i + take), this.payloadFilled)
        } else {
          const base = this.payloadFilled - i
          for (let k = i; k < i + take; k++) payload[base + k] = chunk[k]!
        }
        i += take
        this.payloadFilled += take
      }
      if (this.payloadFilled === payload.length) {
        frames.push(payload)
        if (this.reserved > 0) {
          this.budget!.give(this.reserved)
          this.reserved = 0
        }
        this.payload = undefined
        this.headerFilled = 0
        this.payloadFilled = 0
      }
    }
    return frames
  }

  /** Call at end of stream: a partial frame left over means the peer stopped mid-frame. */
  end(): void {
    if (this.failure) throw this.failure
    if (this.bufferedBytes > 0) {
      throw this.fail(
        new FrameError('E_FRAME_MALFORMED', `stream ended inside a frame (${this.bufferedBytes} bytes of a partial frame)`),
      )
    }
  }

  private fail(error: FrameError): FrameError {
    this.failure = error
    this.release()
    this.payload = undefined
    this.headerFilled = 0
    this.payloadFilled = 0
    return error
  }
}
