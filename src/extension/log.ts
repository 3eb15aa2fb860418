// One LogOutputChannel "Tonk P2P" for the extension, adapted to core's Logger shape.
import * as vscode from 'vscode'

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
