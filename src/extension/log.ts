// One LogOutputChannel "Tonk P2P" for the extension, adapted to core's Logger shape.
import * as vscode from 'vscode'
import type { Logger } from '../shared/log'

export interface ExtensionLogger {
  readonly channel: vscode.LogOutputChannel
  debug(msg: string, ...args: unknown[]): void
  info(msg: string, ...args: unknown[]): void
  warn(msg: string, ...args: unknown[]): void
  error(msg: string | Error, ...args: unknown[]): void
}

export function createLogger(): ExtensionLogger {
  const channel = vscode.window.createOutputChannel('Tonk P2P', { log: true })
  return {
    channel,
    debug: (m, ...a) => channel.debug(m, ...a),
    info: (m, ...a) => channel.info(m, ...a),
    warn: (m, ...a) => channel.warn(m, ...a),
    error: (m, ...a) => channel.error(m, ...a),
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

/**
 * The Logger handed to the engine: the output channel, minus what is below `level()` (the tonk.logLevel
 * setting, read on every call so a change applies at once). The channel's own level still applies on top.
 * Lines start with `[bundle]` so the sessions of several bundles can be told apart in one channel.
 */
export function engineLogger(log: ExtensionLogger, level: () => LogLevel, bundle: string): Logger {
  const prefix = `[${bundle}] `
  const at = (l: LogLevel, write: (m: string, ...a: unknown[]) => void) => (m: string, ...a: unknown[]) => {
    if (RANK[l] >= RANK[level()]) write(prefix + m, ...a)
  }
  return { debug: at('debug', log.debug), info: at('info', log.info), warn: at('warn', log.warn), error: at('error', log.error) }
}
