// The logger the engine is handed: the extension passes its LogOutputChannel, the CLI the console,
// tests nothing. Structural, so `console` fits as is.
export interface Logger {
  debug(message: string, ...details: unknown[]): void
  info(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
  error(message: string, ...details: unknown[]): void
}

const noop = () => {}

/** Drops everything; the default when no logger is passed in. */
export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }
