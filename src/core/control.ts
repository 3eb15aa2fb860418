// The local control socket of a running peer (`<dataDir>/control.sock`): JSON lines over a Unix socket,
// so `tonk-p2p doc …` and `tonk-p2p ticket` can talk to the `serve` process that owns a data dir instead
// of opening its storage a second time. Unix sockets never touch the network and are mode 0600.
//   request  {"id":1,"method":"get","params":{"path":"/a"}}
//   reply    {"id":1,"ok":true,"result":…}  or  {"id":1,"ok":false,"error":{"code":"…","message":"…"}}
//   stream   {"id":1,"event":…} lines until the client closes (for methods that watch)
import { chmod, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { relative } from 'node:path'

const MAX_LINE_BYTES = 16 * 1024 * 1024

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

/** Unix socket paths are limited to ~107 bytes: use a relative path when the absolute one is too long. */
function socketAddress(path: string): string {
  if (Buffer.byteLength(path) < 100) return path
  const rel = relative(process.cwd(), path)
  if (Buffer.byteLength(rel) < 100) return rel
  throw new ControlError('E_SOCKET_PATH', `control socket path too long for a Unix socket: ${path}`)
}

function lines(socket: Socket, onLine: (line: string) => void, onTooLong: () => void): void {
  let buffered = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffered += chunk
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim()) onLine(line)
    }
    if (buffered.length > MAX_LINE_BYTES) {
      buffered = ''
      onTooLong()
    }
  })
}

export async function startControlServer(
  path: string,
  handlers: Record<string, ControlHandler>,
  /** Told about handler failures that are not ControlErrors: those are bugs, worth a stack trace. */
  onUnexpectedError: (method: string, err: Error) => void = () => {},
): Promise<Server> {
  const address = socketAddress(path)
  await rm(path, { force: true }) // a socket left by a crashed peer; the data-dir lock says no peer owns it
  const server = createServer((socket) => {
    let resolveClosed!: () => void
    const closed = new Promise<void>((r) => (resolveClosed = r))
    socket.on('close', () => resolveClosed())
    socket.on('error', () => socket.destroy())
    const send = (obj: unknown) => {
      if (!socket.destroyed) socket.write(JSON.stringify(obj) + '\n')
    }
    lines(
      socket,
      (line) => {
        let req: { id?: unknown; method?: unknown; params?: unknown }
        try {
          req = JSON.parse(line)
        } catch {
          send({ id: null, ok: false, error: { code: 'E_CONTROL_JSON', message: 'request is not JSON' } })
          return
        }
        const id = req.id ?? null
        const handler = typeof req.method === 'string' ? handlers[req.method] : undefined
        if (!handler) {
          send({ id, ok: false, error: { code: 'E_CONTROL_METHOD', message: `unknown method ${String(req.method)}` } })
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
        send({ id: null, ok: false, error: { code: 'E_CONTROL_TOO_LARGE', message: 'request line too large' } })
        socket.destroy()
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

  constructor(private readonly socket: Socket) {
    lines(
      socket,
      (line) => {
        const msg = JSON.parse(line) as { id: number; ok?: boolean; result?: unknown; error?: { code: string; message: string }; event?: unknown }
        const p = this.pending.get(msg.id)
        if (!p) return
        if ('event' in msg) return p.onEvent?.(msg.event)
        this.pending.delete(msg.id)
        if (msg.ok) p.resolve(msg.result)
        else p.reject(new ControlError(msg.error?.code ?? 'E_CONTROL', msg.error?.message ?? 'control request failed'))
      },
      () => socket.destroy(),
    )
    socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new ControlError('E_CONTROL_CLOSED', 'the peer closed the control socket'))
      this.pending.clear()
    })
  }

  call<T = unknown>(method: string, params: unknown = {}, onEvent?: (event: any) => void): Promise<T> {
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
