// How errors and ids appear in sentences meant for people (logs, notices, CLI lines).

/**
 * Errors from the iroh binding carry a Rust backtrace (RUST_BACKTRACE=1) and source paths. Keeps the
 * message and its causes on one line: "ConnectError::Connecting: ConnectingError::ConnectionError: timed out".
 */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const head = text.split(/\n\s*Stack backtrace:/)[0]!
  return head
    .split('\n')
    .map((line) => line.trim().replace(/\s*\((?:\/|[A-Za-z]:\\)[^()]*:\d+:\d+\)/g, ''))
    .filter((line) => line && line !== 'Caused by:')
    .join(': ')
    .slice(0, 500)
}

/** `3f2a9c1e…`: an endpoint, document or build id in a sentence (the views show more: `shortId(id, 12)`). */
export const shortId = (id: string, chars = 8): string => (id.length > chars ? `${id.slice(0, chars)}…` : id)

/** 64 lowercase hex digits: an endpoint id, a public key, an Automerge change hash. */
export const HEX64_PATTERN = '^[0-9a-f]{64}$'
export const HEX64 = new RegExp(HEX64_PATTERN)
