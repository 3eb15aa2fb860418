// The local control socket of a running peer (`<dataDir>/control.sock`): JSON lines over a Unix socket,
// so `tonk-p2p doc …` and `tonk-p2p ticket` can talk to the `serve` process that owns a data dir instead
// of opening its storage a second time. Unix sockets never touch the network; this one is mode 0600
// inside the 0700 data dir, serves at most MAX_CONTROL_CONNECTIONS clients and lines of MAX_LINE_BYTES.
//   request  {"id":1,"method":"get","params":{"path":"/a"}}
//   reply    {"id":1,"ok":true,"result":…}  or  {"id":1,"ok":false,"error":{"code":"…","message":"…"}}
//   stream   {"id":1,"event":…} lines until the client closes (for methods that watch)
import { chmod, rm, stat } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { dirname, relative, resolve } from 'node:path'

/** Longest request or reply line, in bytes (UTF-8, as it travels), newline excluded. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024
/** Connections served at once (`doc watch` keeps one open); the next is answered E_CONTROL_BUSY. */
export const MAX_CONTROL_CONNECTIONS = 32

export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface ControlContext {
  /** Sends one event line to the client (streaming methods). */
  emit(event: unknown): void
  /** Resolves when the client goes away; streaming methods stop then. */
  readonly closed: Promise<void>
}

export type ControlHandler = (params: any, ctx: ControlContext) => Promise<unknown>

export interface ControlServerOptions {
  /** Default MAX_CONTROL_CONNECTIONS. */
  maxConnections?: number
  /** Default MAX_LINE_BYTES. */
  maxLineBytes?: number
}

/** Unix socket paths are limited to ~107 bytes: use a relative path when the absolute one is too long. */
function socketAddress(path: string): string {
  if (Buffer.byteLength(path) < 100) return path
  const rel = relative(process.cwd(), path)
  if (Buffer.byteLength(rel) < 100) return rel
  throw new ControlError('E_SOCKET_PATH', `control socket path too long for a Unix socket: ${path}`)
}

/**
 * Splits a byte stream into UTF-8 lines. Each byte is looked at once: a chunk is searched for newlines
 * from where the last search ended, never the whole buffered line again (a 16 MiB line in 64 KiB
 * chunks would otherwise cost ~2 GB of rescanning). The limit counts bytes, not UTF-16 units; a line
 * over it calls onTooLong once and ends the splitter.
 */
export class LineSplitter {
  private parts: Buffer[] = []
  private partBytes = 0
  private ended = false
  /** Bytes searched for a newline so far (each byte of the stream once; a unit test checks it). */
  scanned = 0

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0
    while (!this.ended && from < chunk.length) {
      const nl = chunk.indexOf(0x0a, from)
      const end = nl === -1 ? chunk.length : nl
      this.scanned += (nl === -1 ? chunk.length : nl + 1) - from
      if (this.partBytes + (end - from) > this.maxBytes) {
        this.ended = true
        this.parts = []
        this.onTooLong()
        return
      }
      if (nl === -1) {
        this.parts.push(chunk.subarray(from))
        this.partBytes += end - from
        return
      }
      const piece = chunk.subarray(from, end)
      const line = (this.parts.length ? Buffer.concat([...this.parts, piece]) : piece).toString('utf8')
      this.parts = []
      this.partBytes = 0
      from = nl + 1
      if (line.trim()) this.onLine(line)
    }
  }
}

function lines(socket: Socket, maxBytes: number, onLine: (line: string) => void, onTooLong: () => void): void {
  const splitter = new LineSplitter(maxBytes, onLine, onTooLong)
  socket.on('data', (chunk: Buffer) => splitter.push(chunk))
}

const errorLine = (code: string, message: string) => JSON.stringify({ id: null, ok: false, error: { code, message } }) + '\n'

/**
 * Serves `handlers` on a Unix socket at `path`. The socket's directory must be closed to other users
 * (the data dir is 0700): the socket is created there with the process's umask and only then
 * chmodded to 0600, and the directory is what keeps others out in between. (Setting process.umask
 * around listen() would also change the mode of whatever a libuv thread creates at that moment.)
 */
export async function startControlServer(
  path: string,
  handlers: Record<string, ControlHandler>,
  /** Told about handler failures that are not ControlErrors: those are bugs, worth a stack trace. */
  onUnexpectedError: (method: string, err: Error) => void = () => {},
  options: ControlServerOptions = {},
): Promise<Server> {
  const address = socketAddress(path)
  const maxConnections = options.maxConnections ?? MAX_CONTROL_CONNECTIONS
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES
  if (process.platform !== 'win32') {
    const dir = dirname(resolve(path))
    const mode = (await stat(dir)).mode & 0o777
    if ((mode & 0o077) !== 0) {
      throw new ControlError('E_CONTROL_DIR', `the control socket's directory ${dir} is open to other users (mode ${mode.toString(8)}); it must be 0700`)
    }
  }
  await rm(path, { force: true }) // a socket left by a crashed peer; the data-dir lock says no peer owns it
  let open = 0
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy())
    if (open >= maxConnections) {
      socket.end(errorLine('E_CONTROL_BUSY', `the peer already serves ${maxConnections} control connections (doc watch?); close some and retry`))
      // Read (and drop) until the client hangs up, else the socket never sees its end; a client that
      // never does is cut off.
      socket.resume()
      setTimeout(() => socket.destroy(), 1000).unref()
      return
    }
    open++
    let resolveClosed!: () => void
    const closed = new Promise<void>((r) => (resolveClosed = r))
    socket.on('close', () => {
      open--
      resolveClosed()
    })
    const send = (obj: unknown) => {
      if (!socket.destroyed) socket.write(JSON.stringify(obj) + '\n')
    }
    lines(
      socket,
      maxLineBytes,
      (line) => {
        let req: { id?: unknown; method?: unknown; params?: unknown }
        try {
          req = JSON.parse(line)
        } catch {
          send({ id: null, ok: false, error: { code: 'E_CONTROL_JSON', message: 'request is not JSON' } })
          return
        }
        if (typeof req !== 'object' || req === null) {
          send({ id: null, ok: false, error: { code: 'E_CONTROL_JSON', message: 'request is not a JSON object' } })
          return
        }
        const id = req.id ?? null
        const handler = typeof req.method === 'string' && Object.hasOwn(handlers, req.method) ? handlers[req.method] : undefined
        if (!handler) {
          send({ id, ok: false, error: { code: 'E_CONTROL_METHOD', message: `unknown method ${String(req.method).slice(0, 80)}` } })
          return
        }
        handler(req.params ?? {}, { emit: (event) => send({ id, event }), closed }).then(
          (result) => send({ id, ok: true, result }),
          (err: Error & { code?: string }) => {
            if (!(err instanceof ControlError)) onUnexpectedError(String(req.method), err)
            send({ id, ok: false, error: { code: err.code ?? 'E_CONTROL', message: err.message } })
          },
        )
      },
      () => {
        if (!socket.destroyed) socket.end(errorLine('E_CONTROL_TOO_LARGE', `request line over ${maxLineBytes} bytes`))
        socket.destroySoon()
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address, () => resolve())
  })
  await chmod(path, 0o600)
  return server
}

export async function closeControlServer(server: Server | undefined, path: string): Promise<void> {
  if (!server) return
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await rm(path, { force: true }).catch(() => {})
}

/** A client: connects, or returns undefined when no peer listens there (so callers can fall back). */
export async function connectControl(path: string): Promise<ControlClient | undefined> {
  let address: string
  try {
    address = socketAddress(path)
  } catch {
    return undefined
  }
  return new Promise((resolve) => {
    const socket = createConnection(address)
    socket.once('connect', () => resolve(new ControlClient(socket)))
    socket.once('error', () => resolve(undefined))
  })
}

export class ControlClient {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (e: unknown) => void }>()
  private failure: ControlError | undefined

  constructor(
    private readonly socket: Socket,
    maxLineBytes = MAX_LINE_BYTES,
  ) {
    // An error after connecting (ECONNRESET …) must not be an uncaught 'error' event; 'close' follows.
    socket.on('error', () => {})
    lines(
      socket,
      maxLineBytes,
      (line) => this.onLine(line),
      () => this.fail(new ControlError('E_CONTROL_PROTOCOL', `the peer sent a line over ${maxLineBytes} bytes`)),
    )
    socket.on('close', () => this.fail(new ControlError('E_CONTROL_CLOSED', 'the peer closed the control socket')))
  }

  /** A reply line from the server. Anything malformed ends the connection with a typed error, never a throw. */
  private onLine(line: string): void {
    let msg: unknown
    try {
      msg = JSON.parse(line)
    } catch {
      return this.fail(new ControlError('E_CONTROL_PROTOCOL', 'the peer sent a control line that is not JSON'))
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return this.fail(new ControlError('E_CONTROL_PROTOCOL', 'the peer sent a control line that is not a JSON object'))
    }
    const m = msg as { id?: unknown; ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown }; event?: unknown }
    const error = () =>
      new ControlError(
        typeof m.error?.code === 'string' ? m.error.code : 'E_CONTROL',
        typeof m.error?.message === 'string' ? m.error.message : 'control request failed',
      )
    // A connection-level error (busy, line too large, not JSON): every request on it fails with it.
    if (m.id === null && m.ok === false) return this.fail(error())
    const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined
    if (!p) return
    if ('event' in m) return p.onEvent?.(m.event)
    this.pending.delete(m.id as number)
    if (m.ok === true) p.resolve(m.result)
    else p.reject(error())
  }

  private fail(err: ControlError): void {
    this.failure ??= err
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    this.socket.destroy()
  }

  call<T = unknown>(method: string, params: unknown = {}, onEvent?: (event: any) => void): Promise<T> {
    if (this.failure || this.socket.destroyed) return Promise.reject(this.failure ?? new ControlError('E_CONTROL_CLOSED', 'the control socket is closed'))
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent })
      this.socket.write(JSON.stringify({ id, method, params }) + '\n')
    })
  }

  close(): void {
    this.socket.end()
    this.socket.destroy()
  }
}
