// The logger shape src/core/docs accepts. Structural, so the project's own Logger (or `console`) fits
// without this folder depending on where that lives.
export interface DocsLogger {
  debug(message: string, ...details: unknown[]): void
  info(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
  error(message: string, ...details: unknown[]): void
}

const noop = () => {}

/** Drops everything; the default when no logger is passed in. */
export const silentLogger: DocsLogger = { debug: noop, info: noop, warn: noop, error: noop }
