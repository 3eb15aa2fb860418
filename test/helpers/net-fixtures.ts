// Real iroh endpoints on loopback for the net tests (only ever inside the test network namespace).
import { EventEmitter } from 'node:events'
import { closeEndpoint, createEndpoint, endpointTicket, type CreateEndpointOptions } from '../../src/core/net/endpoint'
import type { HelloInfo, HelloMessage } from '../../src/core/net/handshake'
import type { IrohEndpoint } from '../../src/core/net/iroh'
import { IrohNetworkAdapter, type IrohNetworkAdapterOptions } from '../../src/core/net/iroh-adapter'

export const BUNDLE_A = '71ab' + '0'.repeat(60)
export const BUNDLE_B = '9c1e' + '1'.repeat(60)
/** The handshake key every test peer holds unless a test gives it another (a stranger's). */
export const TEST_KEY = new Uint8Array(32).fill(7)
export const OTHER_KEY = new Uint8Array(32).fill(9)

export const testHello = (overrides: Partial<HelloInfo> = {}): HelloInfo => ({
  bundleId: BUNDLE_A,
  namespace: 'default',
  protocolVersion: '1.0.0',
  minCompatibleVersion: '1.0.0',
  peerName: 'test peer',
  ...overrides,
})

const debugLogger = (tag: string) => {
  const at = () => `${(performance.now() / 1000).toFixed(3)} ${tag}`
  return {
    debug: (m: string) => console.log(at(), m),
    info: (m: string) => console.log(at(), m),
    warn: (m: string) => console.log(at(), m),
    error: (m: string) => console.log(at(), m),
  }
}

export interface TestPeer {
  endpoint: IrohEndpoint
  adapter: IrohNetworkAdapter
  ticket: string
  id: string
  /** Disconnects the adapter and closes the endpoint. */
  close(): Promise<void>
}

export async function makeEndpoint(options: CreateEndpointOptions = {}): Promise<IrohEndpoint> {
  return createEndpoint({ bindAddr: '127.0.0.1:0', ...options })
}

export async function makePeer(
  options: {
    hello?: Partial<HelloInfo>
    endpoint?: CreateEndpointOptions
    adapter?: Partial<Omit<IrohNetworkAdapterOptions, 'endpoint' | 'hello'>>
  } = {},
): Promise<TestPeer> {
  const endpoint = await makeEndpoint(options.endpoint)
  const adapter = new IrohNetworkAdapter({
    endpoint,
    hello: testHello(options.hello),
    handshakeKey: TEST_KEY,
    // Fast redials keep reconnect tests short.
    backoff: { initialMs: 50, maxMs: 1000 },
    // TONK_NET_DEBUG=1 prints the adapter's log while debugging a test.
    logger: process.env.TONK_NET_DEBUG ? debugLogger(endpoint.id().fmtShort().slice(0, 6)) : undefined,
    ...options.adapter,
  })
  return {
    endpoint,
    adapter,
    ticket: endpointTicket(endpoint),
    id: endpoint.id().toString(),
    async close() {
      adapter.disconnect()
      await closeEndpoint(endpoint)
    },
  }
}

/** Resolves with the first event (args) that satisfies `match`; rejects after `ms`. */
export function waitForEvent<T extends unknown[]>(
  emitter: { on(e: string, f: (...a: T) => void): unknown; off(e: string, f: (...a: T) => void): unknown },
  event: string,
  match: (...args: T) => boolean = () => true,
  ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler)
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`))
    }, ms)
    const handler = (...args: T) => {
      if (!match(...args)) return
      clearTimeout(timer)
      emitter.off(event, handler)
      resolve(args)
    }
    emitter.on(event, handler)
  })
}

export async function eventually(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Records every emission of the listed events, for asserting on what did (not) happen. */
export function record(emitter: EventEmitter | { on(e: string, f: (...a: any[]) => void): unknown }, events: string[]) {
  const log: Array<{ event: string; args: unknown[] }> = []
  for (const event of events) emitter.on(event, (...args: unknown[]) => log.push({ event, args }))
  return log
}

/**
 * A hand-driven client for misbehaving-peer tests: dials with the tonk ALPN, opens the stream and
 * writes whatever bytes the test wants (a valid hello first, usually).
 */
export async function rawClient(ticket: string, options: { endpoint?: IrohEndpoint; key?: Uint8Array } = {}) {
  const { alpnBytes, parseDialTarget, TONK_SYNC_ALPN } = await import('../../src/core/net/endpoint')
  const { seal, sealContext, HANDSHAKE_VERSION } = await import('../../src/core/net/handshake')
  const { cbor } = await import('@automerge/automerge-repo/slim')
  const { encodeFrame } = await import('../../src/core/net/framing')
  const { toNumberArray } = await import('../../src/core/net/bytes')
  const endpoint = options.endpoint ?? (await makeEndpoint())
  const conn = await endpoint.connect(parseDialTarget(ticket), alpnBytes(TONK_SYNC_ALPN))
  const bi = await conn.openBi()
  const writeRaw = (bytes: Uint8Array) => bi.send.writeAll(toNumberArray(bytes))
  return {
    endpoint,
    conn,
    id: endpoint.id().toString(),
    writeRaw,
    writeFrame: (payload: Uint8Array) => writeRaw(encodeFrame(payload, 0xffff_ffff)),
    /** A sealed hello, as a real dialer sends it (with the test key unless `key` says otherwise). */
    sendHello: (peerId: string, overrides: Partial<HelloInfo> = {}) => {
      const context = sealContext(TONK_SYNC_ALPN, endpoint.id().toString(), conn.remoteId().toString(), 'dialer')
      const hello = { type: 'hello', v: HANDSHAKE_VERSION, ...testHello(overrides), peerId, isEphemeral: false, instanceId: 'raw' }
      return writeRaw(encodeFrame(cbor.encode(seal(options.key ?? TEST_KEY, context, hello))))
    },
    /** Resolves with iroh's close reason once the other side closes the connection. */
    closed: () => conn.closed(),
    async close() {
      await closeEndpoint(endpoint)
    },
  }
}

/** Two endpoint ids and a valid hello, for tests of the hello checks. */
export const US = '1111aaaa' + '0'.repeat(56)
export const THEM = '3f2a9c1e' + '0'.repeat(56)
export const helloMessage = (o: Partial<HelloMessage> = {}): HelloMessage => ({
  type: 'hello',
  v: 2,
  bundleId: '71ab' + 'f'.repeat(60),
  namespace: 'default',
  protocolVersion: '1.2.0',
  minCompatibleVersion: '1.0.0',
  peerName: 'laptop',
  peerId: 'peer-a',
  isEphemeral: false,
  instanceId: 'abc',
  ...o,
})
