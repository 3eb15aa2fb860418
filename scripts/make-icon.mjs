#!/usr/bin/env node
// Draws media/icon.png, the 128×128 Marketplace icon: the activity-bar glyph (media/tonk.svg: three
// peers around one shared document) in white on a rounded indigo-to-teal square. Plain Node (a PNG is
// zlib-deflated scanlines plus CRC'd chunks), so it needs no image library; shapes are distance
// functions sampled 4×4 per pixel for smooth edges. Run: node scripts/make-icon.mjs [OUT.png]
import { writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

const SIZE = 128
const SAMPLES = 4
const S = SIZE / 24 // tonk.svg's 24-unit viewBox, scaled

// Shapes in tonk.svg units, as signed distances (negative inside).
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r
const ring = (cx, cy, r, w) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - w / 2
const segment = (ax, ay, bx, by, w) => (x, y) => {
  const [dx, dy] = [bx - ax, by - ay]
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(x - ax - t * dx, y - ay - t * dy) - w / 2
}
const roundRect = (x0, y0, w, h, r) => (x, y) => {
  const qx = Math.abs(x - (x0 + w / 2)) - w / 2 + r
  const qy = Math.abs(y - (y0 + h / 2)) - h / 2 + r
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r
}
const stroke = (sdf, w) => (x, y) => Math.abs(sdf(x, y)) - w / 2

const LINE = 1.5
const peers = [
  [5, 6],
  [19, 6],
  [12, 19],
]
const glyph = [
  ...peers.map(([x, y]) => circle(x, y, 2.6)), // peers, filled
  ...peers.map(([x, y]) => ring(x, y, 2.6, LINE)),
  segment(7.6, 6, 16.4, 6, LINE),
  segment(6.3, 8.4, 10.7, 16.7, LINE),
  segment(17.7, 8.4, 13.3, 16.7, LINE),
  stroke(roundRect(10.1, 8.3, 3.8, 4.8, 0.8), 1.2), // the shared document
  segment(11.3, 10, 12.7, 10, 0.7),
  segment(11.3, 11.5, 12.7, 11.5, 0.7),
]
const inGlyph = (x, y) => glyph.some((sdf) => sdf(x, y) <= 0)

// The background: a rounded square, a diagonal gradient (indigo top-left to teal bottom-right).
const background = roundRect(0, 0, 24, 24, 4.2)
const FROM = [67, 56, 202]
const TO = [13, 148, 136]

// The glyph is drawn at 78% size, centred.
const SCALE = 0.78
const toGlyph = (u) => (u - 12) / SCALE + 12

const rgba = Buffer.alloc(SIZE * SIZE * 4)
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    let bg = 0
    let fg = 0
    for (let sy = 0; sy < SAMPLES; sy++) {
      for (let sx = 0; sx < SAMPLES; sx++) {
        const x = (px + (sx + 0.5) / SAMPLES) / S
        const y = (py + (sy + 0.5) / SAMPLES) / S
        if (background(x, y) > 0) continue
        bg++
        if (inGlyph(toGlyph(x), toGlyph(y) + 0.4)) fg++
      }
    }
    const n = SAMPLES * SAMPLES
    const t = (px + py) / (2 * SIZE)
    const base = FROM.map((c, i) => c + (TO[i] - c) * t)
    const a = fg / Math.max(bg, 1)
    const o = (py * SIZE + px) * 4
    for (let i = 0; i < 3; i++) rgba[o + i] = Math.round(base[i] * (1 - a) + 255 * a)
    rgba[o + 3] = Math.round((255 * bg) / n)
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

const ihdr = Buffer.alloc(13)
ihdr.writeUInt32BE(SIZE, 0)
ihdr.writeUInt32BE(SIZE, 4)
ihdr[8] = 8 // bit depth
ihdr[9] = 6 // RGBA
const rows = Buffer.alloc(SIZE * (SIZE * 4 + 1))
for (let y = 0; y < SIZE; y++) rgba.copy(rows, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4) // filter 0 per row
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(rows, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
])
const out = process.argv[2] ?? new URL('../media/icon.png', import.meta.url).pathname
writeFileSync(out, png)
console.log(`${out}: ${SIZE}×${SIZE}, ${png.length} bytes`)
