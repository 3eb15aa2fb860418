// Creating and closing the iroh endpoint a session owns, its persistent identity, and tickets.
// Relays and n0's DNS discovery are off unless asked for: by default nothing here talks to any
// server, peers reach each other by the addresses in tickets (or what discovery hands us).
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { noopLogger, type Logger } from '../../shared/log'
import { toNumberArray } from './bytes'
import {
  Endpoint,
  EndpointAddr,
  EndpointId,
  EndpointTicket,
  presetMinimal,
  presetN0,
  RelayMode,
  type IrohEndpoint,
  type IrohEndpointAddr,
} from './iroh'
import { firstLine, HEX64 } from '../util/text'

/** Protocol name negotiated in the QUIC handshake; bump the suffix only for wire-incompatible changes. */
export const TONK_SYNC_ALPN = 'tonk/sync/2'
/**
 * The previous protocol (a plaintext hello that named the bundle). Still accepted at the QUIC level only
 * to tell such a peer, and our own log, that it is too old; never spoken.
 */
export const TONK_SYNC_ALPN_V1 = 'tonk/sync/1'
export const alpnBytes = (alpn: string): number[] => Array.from(new TextEncoder().encode(alpn))

export const IDENTITY_FILE = 'identity.key'

export interface CreateEndpointOptions {
  /** Directory holding `identity.key`; without it (and without `secretKey`) the identity is ephemeral. */
  dataDir?: string
  /** 32 raw bytes; takes precedence over `dataDir`. */
  secretKey?: Uint8Array
  /** `host:port`; default `0.0.0.0:0`. Tests pass `127.0.0.1:0`. */
  bindAddr?: string
  /** Use n0's relays and DNS discovery (needs the internet). Default false. */
  relays?: boolean
  /** Default `[TONK_SYNC_ALPN, TONK_SYNC_ALPN_V1]` (v1 only to refuse it with a clear reason). */
  alpns?: string[]
  logger?: Logger
}

export class EndpointError extends Error {
  override name = 'EndpointError'
  constructor(
    readonly code: 'E_IDENTITY_CORRUPT' | 'E_BAD_TICKET' | 'E_BIND_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export async function createEndpoint(options: CreateEndpointOptions = {}): Promise<IrohEndpoint> {
  const logger = options.logger ?? noopLogger
  const key = options.secretKey ?? (options.dataDir ? await loadOrCreateSecretKey(options.dataDir) : randomBytes(32))
  const builder = Endpoint.builder()
  if (options.relays) {
    presetN0(builder)
  } else {
    presetMinimal(builder)
    builder.relayMode(RelayMode.disabled())
  }
  builder.secretKey(toNumberArray(key))
  builder.alpns((options.alpns ?? [TONK_SYNC_ALPN, TONK_SYNC_ALPN_V1]).map(alpnBytes))
  const bindAddr = options.bindAddr ?? '0.0.0.0:0'
  builder.bindAddr(bindAddr)
  try {
    const endpoint = await builder.bind()
    logger.info(`iroh endpoint ${endpoint.id().fmtShort()} bound on ${endpoint.boundSockets().join(', ')}`)
    return endpoint
  } catch (err) {
    throw new EndpointError('E_BIND_FAILED', `cannot bind an iroh endpoint on ${bindAddr}: ${firstLine(err)}`, { cause: err })
  }
}

/**
 * Reads `<dataDir>/identity.key` (64 hex chars), creating it on first use. Creation is atomic and
 * race-free: a complete, fsynced temp file is hard-linked into place, so a crash never leaves a
 * torn key and two processes racing both end up with the winner's key (rename would let the second
 * silently replace the first's identity).
 */
export async function loadOrCreateSecretKey(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, IDENTITY_FILE)
  const existing = await readKey(path)
  if (existing) return existing
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(Buffer.from(key).toString('hex') + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await link(tmp, path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EEXIST') {
      // Filesystems without hard links: fall back to rename (last writer wins).
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') await rename(tmp, path)
      else throw err
    }
  } finally {
    await unlink(tmp).catch(() => {})
  }
  await syncDir(dataDir)
  const stored = await readKey(path)
  if (!stored) throw new EndpointError('E_IDENTITY_CORRUPT', `${path} vanished right after it was created`)
  return stored
}

async function readKey(path: string): Promise<Uint8Array | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const hex = text.trim()
  if (!HEX64.test(hex.toLowerCase())) {
    throw new EndpointError(
      'E_IDENTITY_CORRUPT',
      `${path} is not a 32-byte hex key; move it away to start with a new identity (peers will see a new endpoint id)`,
    )
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // Some platforms cannot fsync a directory; the file itself is synced.
  }
}

/** The endpoint id as the 64-hex-char string peers and UIs use. */
export const endpointIdOf = (endpoint: IrohEndpoint): string => endpoint.id().toString()

/** A ticket others can dial: this endpoint's id plus its current direct addresses (and relay, if any). */
export function endpointTicket(endpoint: IrohEndpoint): string {
  return EndpointTicket.fromAddr(endpoint.addr()).toString()
}

export function makeTicket(addr: IrohEndpointAddr): string {
  return EndpointTicket.fromAddr(addr).toString()
}

export type DialTarget = string | IrohEndpointAddr

/**
 * Accepts an `endpoint…` ticket, `<endpoint id>@<ip:port>[,<ip:port>…]`, or an EndpointAddr.
 * Throws EndpointError E_BAD_TICKET with a sentence saying what was wrong.
 */
export function parseDialTarget(target: DialTarget): IrohEndpointAddr {
  if (typeof target !== 'string') return target
  const text = target.trim()
  try {
    if (text.startsWith('endpoint')) return EndpointTicket.fromString(text).endpointAddr()
    const at = text.indexOf('@')
    if (at > 0) {
      const id = EndpointId.fromString(text.slice(0, at))
      const addrs = text
        .slice(at + 1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      if (addrs.length === 0) throw new Error('no address after @')
      return new EndpointAddr(id, null, addrs)
    }
  } catch (err) {
    throw new EndpointError('E_BAD_TICKET', `cannot read "${abbreviate(text)}" as a ticket: ${firstLine(err)}`, { cause: err })
  }
  throw new EndpointError(
    'E_BAD_TICKET',
    `"${abbreviate(text)}" is neither an endpoint ticket (endpoint…) nor <endpoint id>@<ip:port>`,
  )
}

/** Closes the endpoint; never throws (shutdown must not fail halfway). */
export async function closeEndpoint(endpoint: IrohEndpoint, logger: Logger = noopLogger): Promise<void> {
  try {
    if (!endpoint.isClosed()) await endpoint.close()
  } catch (err) {
    logger.warn(`closing iroh endpoint: ${firstLine(err)}`)
  }
}

const abbreviate = (s: string) => (s.length > 24 ? `${s.slice(0, 20)}…` : s)

