// How the CLI talks to people and scripts: results on stdout (text or --json), errors on stderr,
// exit codes 0 ok / 1 invalid input / 2 usage.
import type { Command } from 'commander'
import { BundleError, type Issue } from '../core/bundle'
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

/** The global `--json` flag, as seen from a subcommand. */
export const wantsJson = (cmd: Command): boolean => Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json)

/** The output a subcommand writes to: JSON lines with `--json`, else text. */
export const outputFor = (cmd: Command): Output => makeOutput(wantsJson(cmd))

/** Turns a core BundleError into the CLI's error (exit 1, its stable code kept for --json). */
export async function bundleCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof BundleError) throw new CliError(err.message, EXIT_INVALID, err.code)
    throw err
  }
}

/** One validation issue as a line: `error E_CODE /path: message`. */
export function issueLine(issue: Issue): string {
  const where = issue.path ?? issue.pointer
  return `${issue.severity} ${issue.code}${where ? ` ${where}` : ''}: ${issue.message}`
}

