// The CLI's Logger for the engine: lines on stderr (stdout is for results and --json events).
import type { Logger } from '../shared/log'

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LEVELS)[number]

export function stderrLogger(min: LogLevel): Logger {
  const at = LEVELS.indexOf(min)
  const line = (level: LogLevel) => (message: string, ...details: unknown[]) => {
    if (LEVELS.indexOf(level) < at) return
    const extra = details.length ? ' ' + details.map((d) => (d instanceof Error ? d.message : JSON.stringify(d))).join(' ') : ''
    process.stderr.write(`${new Date().toISOString()} ${level} ${message}${extra}\n`)
  }
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
}
