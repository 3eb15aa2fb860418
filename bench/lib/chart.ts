// A dependency-free SVG of the latency distributions (empirical CDFs, log-scaled time axis), and an
// optional PNG of it when a Chromium is installed (never required).
import { existsSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { percentile } from './stats'

interface Series {
  label: string
  color: string
  values: number[]
}

function cdfPanel(series: Series[], title: string, x0: number, y0: number, w: number, h: number): string {
  const all = series.flatMap((s) => s.values).filter((v) => v > 0)
  if (all.length === 0) return ''
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all))))
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all))))
  const sx = (v: number) => x0 + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * w
  const sy = (p: number) => y0 + h - p * h
  const parts: string[] = [`<text x="${x0}" y="${y0 - 12}" font-size="14" font-weight="bold">${title}</text>`]
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`)
  for (let d = lo; d <= hi; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m
      if (v > hi) break
      const x = sx(v).toFixed(1)
      parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + h}" stroke="#eee"/>`)
      parts.push(`<text x="${x}" y="${y0 + h + 14}" font-size="10" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`)
    }
  }
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 0.99]) {
    const y = sy(p).toFixed(1)
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#eee"/>`)
    parts.push(`<text x="${x0 - 6}" y="${y}" font-size="10" text-anchor="end" dominant-baseline="middle">${p}</text>`)
  }
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 30}" font-size="11" text-anchor="middle">ms (log scale)</text>`)
  series.forEach((s, k) => {
    const sorted = [...s.values].sort((a, b) => a - b)
    const pts = sorted.map((v, i) => `${sx(v).toFixed(1)},${sy((i + 1) / sorted.length).toFixed(1)}`)
    parts.push(`<polyline points="${sx(sorted[0]!).toFixed(1)},${sy(0)} ${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`)
    const med = percentile(s.values, 50)
    const p99 = percentile(s.values, 99)
    parts.push(`<rect x="${x0 + 10}" y="${y0 + 10 + k * 18}" width="12" height="4" fill="${s.color}"/>`)
    parts.push(`<text x="${x0 + 28}" y="${y0 + 15 + k * 18}" font-size="11">${s.label}: median ${med.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (n=${s.values.length})</text>`)
  })
  return parts.join('\n')
}

export function latencyChartSvg(latency: { p2p: number[]; ws: number[] }, mesh?: { p2p: number[]; ws: number[] }): string {
  const W = 920
  const H = mesh ? 640 : 340
  const panels = [
    cdfPanel(
      [
        { label: 'P2P A→B (iroh)', color: '#1b7f3b', values: latency.p2p },
        { label: 'WS A→server→B', color: '#b03030', values: latency.ws },
      ],
      'One small change, A→B: cumulative distribution',
      70, 40, W - 110, 240,
    ),
  ]
  if (mesh) {
    panels.push(
      cdfPanel(
        [
          { label: 'P2P, 20-peer mesh', color: '#1b7f3b', values: mesh.p2p },
          { label: 'WS, 20 clients + server', color: '#b03030', values: mesh.ws },
        ],
        '20 peers converge on one change: cumulative distribution',
        70, 360, W - 110, 220,
      ),
    )
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panels.join('\n')}
</svg>
`
}

/** Renders the SVG to a PNG with a headless Chromium if one is installed; returns whether it did. */
export async function renderPng(svg: string, pngPath: string): Promise<boolean> {
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
  if (!chromium) return false
  const svgPath = join(tmpdir(), `tonk-bench-${process.pid}.svg`)
  writeFileSync(svgPath, svg)
  const size = svg.match(/width="(\d+)" height="(\d+)"/)
  const r = spawnSync(
    chromium,
    ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${pngPath}`, `--window-size=${size?.[1] ?? 920},${size?.[2] ?? 640}`, `file://${svgPath}`],
    { stdio: 'ignore', timeout: 60_000 },
  )
  return r.status === 0 && existsSync(pngPath)
}
