// The iroh binding takes and returns bytes as plain `number[]` (Buffer/Uint8Array are rejected).
// Converting is the transport's bottleneck: `Array.from(u8)` runs at 30–80 MB/s here, a preallocated
// array filled by an indexed loop at 140–840 MB/s. Keep these loops boring so V8 optimises them.

/** Copies `bytes[start, end)` into a new plain array. */
export function toNumberArray(bytes: Uint8Array, start = 0, end = bytes.length): number[] {
  const n = end - start
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) out[i] = bytes[start + i]!
  return out
}

/** Writes `bytes` into `target` at `offset` (used to build one batched write); returns the next offset. */
export function copyIntoNumberArray(target: number[], offset: number, bytes: Uint8Array): number {
  const n = bytes.length
  for (let i = 0; i < n; i++) target[offset + i] = bytes[i]!
  return offset + n
}

/** Copies a plain array of byte values into a new Uint8Array (V8 has a fast path for this constructor). */
export function fromNumberArray(values: readonly number[]): Uint8Array {
  return new Uint8Array(values)
}
