// A link's handshake (handshake.ts does the sealed exchange itself): the first bi-stream, the writer and
// reader wired to the peer's byte counters, the automerge peer-id claim check, and refusing with a
// reason the remote reads before the connection goes. On success the link is installed and read.
import type { PeerId } from '@automerge/automerge-repo/slim'
import { TONK_SYNC_ALPN } from './endpoint'
import { FrameDecoder, FRAME_HEADER_BYTES } from './framing'
import { HANDSHAKE_MAX_FRAME_BYTES, PERMANENT_REFUSALS, performHandshake, type Refusal } from './handshake'
import { FrameReader } from './stream-reader'
import { PeerRateLimiter } from './rate-limit'
import { StreamWriter } from './stream-writer'
import { parseCloseReason } from './messages'
import type { Link, Links } from './links'
import { CLOSE_CODE } from './quic'
import { withTimeout } from '../util/async'
import { firstLine, shortId } from '../util/text'

const noop = () => {}
/** Reads the state afresh: TypeScript's narrowing does not know awaits change it. */
const isClosed = (link: Link) => link.state === 'closed'

export async function handshakeLink(links: Links, link: Link): Promise<void> {
  const { config, host } = links
  const { conn, endpointId } = link
  const them = `peer ${shortId(endpointId)}`
  let bi
  try {
    bi =
      link.direction === 'outbound'
        ? await conn.openBi()
        : await withTimeout(conn.acceptBi(), config.handshakeTimeoutMs, 'no stream opened')
  } catch (err) {
    if (link.state === 'closed') return
    const timedOut = /no stream opened/.test(String(err))
    if (timedOut) {
      emitRefused(links, link, { code: 'E_HANDSHAKE_TIMEOUT', reason: `${them} opened no stream within ${config.handshakeTimeoutMs} ms`, by: 'local' })
    }
    links.close(link, CLOSE_CODE.protocolError, 'no stream', { code: 'E_CONNECTION_LOST', reason: `${them}: ${firstLine(err)}` })
    host.dialer.redial(endpointId)
    return
  }
  link.streams?.afterFirstBi()
  const peer = () => host.peers.get(endpointId)
  link.writer = new StreamWriter(bi.send, {
    ...config.writerOptions,
    maxFrameBytes: config.maxFrameBytes,
    onWrite: (n) => {
      const p = peer()
      if (p && (p.link === link || link.state === 'retiring')) p.bytesOut += n
    },
  })
  link.reader = new FrameReader(bi.recv, new FrameDecoder({ maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES, budget: config.frameBudget }), {
    budget: config.frameBudget,
    onRead: (n) => {
      const p = peer()
      if (p && (p.link === link || link.state === 'retiring')) {
        p.bytesIn += n
        p.lastSeen = Date.now()
      }
    },
  })
  const result = await performHandshake({
    reader: link.reader,
    writer: link.writer,
    local: link.direction === 'outbound' && host.dialer.isDiscovered(endpointId) ? { ...host.localHello(), discovered: true } : host.localHello(),
    localId: config.endpointId,
    remoteId: endpointId,
    role: link.direction === 'outbound' ? 'dialer' : 'acceptor',
    alpn: TONK_SYNC_ALPN,
    key: config.handshakeKey,
    allowPeer: config.allowPeer,
    disconnected: host.dialer.isHeld(endpointId),
    timeoutMs: config.handshakeTimeoutMs,
  })
  if (isClosed(link)) return // went offline or the connection died meanwhile
  if (!result.ok) {
    await refuseLink(links, link, result.refusal)
    return
  }
  link.remote = result.remote
  const claimant = host.peers.byPeerId(result.remote.peerId as PeerId)
  if (claimant && claimant.endpointId !== endpointId) {
    // automerge peer ids are self-chosen: the first endpoint to announce one keeps it, or a second
    // could take over (and, leaving, cut off) every message the Repo sends to the first.
    await refuseLink(links, link, {
      code: 'E_PEER_ID_TAKEN',
      reason: `peer ${shortId(endpointId)} claims automerge peer id ${result.remote.peerId.slice(0, 40)}, which connected peer ${shortId(claimant.endpointId)} holds`,
      by: 'local',
    })
    return
  }
  if (!claimant && config.peerIdTaken?.(result.remote.peerId)) {
    await refuseLink(links, link, {
      code: 'E_PEER_ID_TAKEN',
      reason: `peer ${shortId(endpointId)} claims automerge peer id ${result.remote.peerId.slice(0, 40)}, which this session or another of its connections (the preview, the bridge) holds`,
      by: 'local',
    })
    return
  }
  if (link.direction === 'inbound' && result.remote.discovered === true && !host.acceptsDiscovered()) {
    // Full (DiscoveryLimits.trimAbove), and its dialer has other peers to try: closed before the Repo
    // hears of it, as a trim (the dialer does not redial; its discovery dials another peer).
    host.logger.debug(`net: ${shortId(endpointId)} found us through discovery; we have enough links`)
    links.close(link, CLOSE_CODE.trimmed, 'trimmed')
    return
  }
  link.reader.decoder.maxFrameBytes = config.maxFrameBytes
  if (config.rateLimit) link.limiter = new PeerRateLimiter(config.rateLimit, config.maxFrameBytes + FRAME_HEADER_BYTES)
  links.install(link)
  if (link.state !== 'closed') await links.readLoop(link)
}

async function refuseLink(links: Links, link: Link, refusal: Refusal): Promise<void> {
  const { host } = links
  const { conn, endpointId } = link
  if (refusal.code === 'E_CONNECTION_LOST') {
    // The remote may have refused at the connection level: its close reason starts with the code.
    const closed = parseCloseReason(conn.closeReason())
    if (closed?.code.startsWith('E_') && closed.code !== 'E_OFFLINE') {
      refusal = { code: closed.code, reason: `peer ${shortId(endpointId)} refused this session (${closed.code})`, by: 'remote' }
    }
  }
  if (refusal.code !== 'E_CONNECTION_LOST') emitRefused(links, link, refusal)
  else host.logger.debug(`net: ${refusal.reason}`)
  host.dialer.noteError(endpointId, refusal.reason)
  if (refusal.by === 'local') {
    // Let the refuse frame arrive before the connection goes: flush, finish, and wait (briefly)
    // for the remote to finish or close too.
    await link.writer?.close()
    await withTimeout(drain(link.reader!), 1000, 'drain').catch(noop)
  }
  links.close(link, CLOSE_CODE.refused, refusal.code)
  host.dialer.redial(endpointId, PERMANENT_REFUSALS.has(refusal.code))
}

function emitRefused(links: Links, link: Link, refusal: Refusal): void {
  links.host.logger.warn(`net: ${refusal.reason}`)
  links.host.events.emit('peer-refused', {
    endpointId: link.endpointId,
    code: refusal.code,
    reason: refusal.reason,
    by: refusal.by,
    direction: link.direction,
  })
}

async function drain(reader: FrameReader): Promise<void> {
  try {
    while ((await reader.next()) !== null) {
      // discard
    }
  } catch {
    // A refused peer's stream state does not matter any more.
  }
}
