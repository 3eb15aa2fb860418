// Percentiles and formatting for the result table.

/** Nearest-rank percentile of `values` (p in [0, 100]). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export const median = (values: number[]) => percentile(values, 50)

export function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '—'
  if (unit === 'ms') return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`
  if (unit === 'MB/s') return `${value.toFixed(1)} MB/s`
  if (unit === 'msg/s') return `${Math.round(value).toLocaleString('en-US')} msg/s`
  if (unit === 'MB') return `${value.toFixed(1)} MB`
  return `${value} ${unit}`
}
