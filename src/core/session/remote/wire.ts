// What both ends of the engine worker share: errors as plain data (the typed code survives, the stack
// stays behind) and a FrameChannel over a MessagePort for the mirror Repo's adapter pair.
import type { MessagePort } from 'node:worker_threads'
import type { WireError } from './protocol'
import type { AdapterFrame } from '../../../protocol/preview'
import type { FrameChannel } from '../../../shared/postmessage-adapter'

export function wireError(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error))
  const code = (e as { code?: unknown }).code
  return { name: e.name, message: e.message, ...(typeof code === 'string' && { code }) }
}

/** E_NOT_RUNNING: the worker is not (yet, or no longer) there to answer. */
export function notRunning(message = 'the session is not running'): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'E_NOT_RUNNING' })
}

/** An Error again, with its code (E_…) where it had one. */
export function fromWireError(wire: WireError): Error & { code?: string } {
  const error = new Error(wire.message) as Error & { code?: string }
  error.name = wire.name
  if (wire.code !== undefined) error.code = wire.code
  return error
}

/**
 * A FrameChannel over a worker MessagePort. A message's bytes are moved, not copied, when they own
 * their buffer (the adapter encodes each message into a fresh one).
 */
export function portChannel(port: MessagePort, parse: (value: unknown) => AdapterFrame | undefined): FrameChannel {
  return {
    post(frame) {
      const bytes = frame.kind === 'message' ? frame.bytes : undefined
      const owns = bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      port.postMessage(frame, owns ? [bytes.buffer as ArrayBuffer] : [])
    },
    subscribe(onFrame) {
      const listener = (value: unknown) => {
        const frame = parse(value)
        if (frame) onFrame(frame)
      }
      port.on('message', listener)
      return () => port.off('message', listener)
    },
  }
}
