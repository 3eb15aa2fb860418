// How the CLI talks to people and scripts: results on stdout (text or --json), errors on stderr,
// exit codes 0 ok / 1 invalid input / 2 usage.
export const EXIT_OK = 0
export const EXIT_INVALID = 1
export const EXIT_USAGE = 2

/** An error the CLI reports without a stack trace, with the exit code it implies. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_INVALID,
    readonly code?: string,
  ) {
    super(message)
  }
}

export interface Output {
  json: boolean
  /** A result: printed as JSON with --json, else as the text the callback returns. */
  result(value: unknown, text: () => string): void
  info(line: string): void
  error(line: string): void
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    result(value, text) {
      process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n')
    },
    info(line) {
      if (!json) process.stdout.write(line + '\n')
    },
    error(line) {
      process.stderr.write(line + '\n')
    },
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(2)} MiB`
}

/** A plain-text table with left-aligned columns (right-aligned where `right` says). */
export function table(headers: string[], rows: string[][], right: number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
