// serve / ticket: a headless peer of a bundle, and the ticket of the peer owning a data dir.
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { connectControl } from '../../core/host/control'
import { findControlSocket } from '../../core/host/control-path'
import { readDataDirInfo } from '../../core/host/data-dir'
import type { DiscoveryOptions } from '../../core/discovery'
import { bootstrapHints, describeHint } from '../../core/bundle/hints'
import { Session, type SessionSnapshot } from '../../core/session/session'
import { isTonkBundle } from '../../core/tonk/as-bundle'
import { tonkRelayUris } from '../../core/tonk/manifest'
import { stderrLogger, type LogLevel } from '../logger'
import { CliError, EXIT_INVALID, EXIT_USAGE, makeOutput, outputFor, wantsJson } from '../output'

const short = (id: string) => id.slice(0, 10)

function parsePort(value: string, flag: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`${flag} wants a UDP port (0-65535), not "${value}"`, EXIT_USAGE, 'E_USAGE')
  return port
}

/** --no-mdns / --no-exchange / --dht / --dht-bootstrap / --dht-port → the session's discovery options. */
function discoveryOptions(opts: { mdns?: boolean; exchange?: boolean; dht?: boolean; dhtBootstrap?: string[]; dhtPort?: number; maxLinks?: number }): DiscoveryOptions {
  if (opts.maxLinks !== undefined && !(Number.isInteger(opts.maxLinks) && opts.maxLinks >= 1 && opts.maxLinks <= 1024)) {
    throw new CliError(`--max-links wants a whole number from 1 to 1024, not "${opts.maxLinks}"`, EXIT_USAGE, 'E_USAGE')
  }
  const bootstrap = opts.dhtBootstrap?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
  for (const entry of bootstrap ?? []) {
    if (entry !== 'none' && !/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(entry)) {
      throw new CliError(`--dht-bootstrap wants host:port entries, not "${entry}"`, EXIT_USAGE, 'E_USAGE')
    }
  }
  const dhtOn = bootstrap !== undefined ? opts.dht !== false : opts.dht === true
  return {
    mdns: opts.mdns !== false,
    exchange: opts.exchange !== false,
    dht: dhtOn ? { bootstrap: bootstrap?.filter((e) => e !== 'none'), port: opts.dhtPort } : false,
    maxLinks: opts.maxLinks,
  }
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run a headless peer of a bundle: print its ticket, peers and sync events until stopped')
    .argument('<bundle>', 'bundle .zip (or a bundle folder, packed in memory)')
    .requiredOption('--data <dir>', "this peer's data dir (identity, storage); one process per dir")
    .option('--connect <ticket...>', 'dial these peers (repeatable)')
    .option('--ticket-file <file>', 'write this peer’s ticket to a file once listening')
    .option('--name <name>', 'peer name others see')
    .option('--bind <addr>', 'bind address (default 0.0.0.0:0)')
    .option('--relays', "use iroh's public relays and DNS discovery (needs internet)")
    .option('--max-frame-bytes <n>', 'largest frame accepted from a peer', (v) => Number(v))
    .option('--allow-peer <endpointId...>', 'private session: only these endpoint ids may connect (adds to the manifest allowedPeers)')
    .option('--require-publisher <publicKey>', 'refuse a bundle not signed by this publisher key')
    .option('--no-mdns', 'do not find or announce peers on the LAN (mDNS)')
    .option('--no-exchange', 'do not pass connected peers on to each other (peer exchange)')
    .option('--max-links <n>', 'links discovery fills up to (mDNS, peer exchange, DHT); more peers wait until a link ends. Default: no bound', (v) => Number(v))
    .option('--dht', 'find peers through the Mainline DHT (the public BitTorrent routers unless --dht-bootstrap)')
    .option('--no-dht', 'no DHT (the default)')
    .option('--dht-bootstrap <host:port...>', 'DHT nodes to join through (implies --dht); "none" starts a DHT of its own')
    .option('--dht-port <port>', 'UDP port of this peer\'s DHT node (default: any)', (v) => parsePort(v, '--dht-port'))
    .option('--no-bulk', 'no bulk catch-up: a peer that lacks documents gets them by per-document sync only')
    .option('--no-bootstrap-peers', "do not dial the bundle's own sync.discovery.bootstrapPeers (default: dial and print them)")
    .option('--bridge <url>', 'also sync with an automerge-repo WebSocket sync server, e.g. ws://localhost:7777/sync')
    .option('--trace', 'print every sync message')
    .option('--log-level <level>', 'debug, info, warn or error (on stderr)')
    .option('--stop-with-stdin', 'stop when stdin closes (for a supervisor: its peers end when it does, even killed)')
    .action(async (bundle: string, opts, cmd: Command) => {
      const json = wantsJson(cmd)
      const out = makeOutput(json)
      // A reader that went away (`serve | head`, a supervisor killed) is EPIPE on the next write: stop as
      // SIGPIPE would end a C program, without a stack trace, and write nothing more.
      let readerGone = false
      let stopNow: (() => void) | undefined
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err
        readerGone = true
        stopNow?.()
      })
      const line = (event: Record<string, unknown>, text: string) => {
        if (!readerGone) process.stdout.write((json ? JSON.stringify({ ...event, at: new Date().toISOString() }) : text) + '\n')
      }
      const logger = stderrLogger((opts.logLevel as LogLevel) ?? (json ? 'warn' : 'info'))
      // A long-running peer must not die of a library's stray promise: automerge-repo 2.5.6's
      // DocSynchronizer.beginSync awaits handle.whenReady() without a catch, so a document a peer
      // claims to have but never sends (e.g. that peer was killed) rejects after 60 s with nobody
      // listening. Log it and keep serving; the document stays requestable.
      process.on('unhandledRejection', (reason) => {
        logger.error(`unhandled rejection (kept running): ${(reason as Error)?.stack ?? String(reason)}`)
      })
      const session = await Session.open(bundle, {
        dataDir: opts.data,
        connect: opts.connect,
        peerName: opts.name,
        bindAddr: opts.bind,
        relays: Boolean(opts.relays),
        maxFrameBytes: opts.maxFrameBytes,
        discovery: discoveryOptions(opts),
        bridge: opts.bridge,
        ...(opts.bootstrapPeers === false ? { approveBundleHints: () => [] } : {}),
        bulk: opts.bulk !== false,
        allowedPeers: opts.allowPeer,
        requirePublisher: opts.requirePublisher,
        logger,
      }).catch((err) => {
        throw new CliError((err as Error).message, EXIT_INVALID, (err as { code?: string }).code)
      })
      await session.start().catch((err) => {
        throw new CliError((err as Error).message, EXIT_INVALID, (err as { code?: string }).code)
      })
      const snap = await session.snapshot()
      if (opts.ticketFile) await writeFile(opts.ticketFile, snap.ticket + '\n')
      // The bundle's own bootstrap peers are dialed without asking (the user named this bundle), so say whom.
      const hints = bootstrapHints(session.bundle.manifest.sync.discovery.bootstrapPeers)
      const tonkRelays = isTonkBundle(session.bundle) ? tonkRelayUris(session.bundle.tonk.manifest) : []
      line(
        {
          event: 'ready', endpointId: snap.endpointId, ticket: snap.ticket, bundleId: snap.bundle.bundleId, name: snap.bundle.name, dataDir: opts.data, discovery: session.discoverySources,
          bootstrapPeers: hints.map(({ endpointId, addresses, relayUrl }) => ({ endpointId, addresses, relayUrl, dialed: opts.bootstrapPeers !== false })),
        },
        `serving ${snap.bundle.name}@${snap.bundle.version} (bundle ${short(snap.bundle.bundleId)}) as ${short(snap.endpointId ?? '')}\nticket: ${snap.ticket}\ndiscovery: ${session.discoverySources.join(', ') || 'off (tickets only)'}${opts.bridge ? `; bridge to ${opts.bridge}` : ''}` +
          (hints.length ? `\nbootstrap peers of the bundle, ${opts.bootstrapPeers === false ? 'not dialed (--no-bootstrap-peers)' : 'dialed'}: ${hints.map(describeHint).join('; ')}` : '') +
          // A .tonk's relays are only named: the file must not decide where its documents go.
          (tonkRelays.length && !opts.bridge ? `\nthe .tonk names relay ${tonkRelays.join(', ')}: not used (add --bridge ${tonkRelays[0]} to sync through it)` : ''),
      )
      const known = new Map<string, string>()
      const report = (s: SessionSnapshot) => {
        const now = new Set<string>()
        for (const p of s.peers) {
          if (p.state !== 'connected') continue
          now.add(p.endpointId)
          if (!known.has(p.endpointId)) {
            known.set(p.endpointId, p.name ?? '')
            line({ event: 'peer-connected', peer: p }, `+ peer ${short(p.endpointId)} ${p.name} via ${p.source} (${p.path ? `${p.path.kind} ${p.path.remoteAddr}` : 'no path yet'})`)
          }
        }
        for (const [id, name] of known) {
          if (!now.has(id)) {
            known.delete(id)
            line({ event: 'peer-disconnected', endpointId: id, name }, `- peer ${short(id)} ${name}`)
          }
        }
      }
      session.on('changed', () => void session.snapshot().then(report))
      session.on('peer-refused', (r) =>
        line({ event: 'peer-refused', ...r }, `! refused ${short(r.endpointId ?? '?')}: ${r.reason}`),
      )
      session.on('doc-changed', (d) =>
        line({ event: 'doc-changed', ...d }, `~ ${d.path ?? d.documentId} changed (heads ${d.heads.map((h: string) => h.slice(0, 8)).join(',')})`),
      )
      session.on('presence', (peers) =>
        line({ event: 'presence', peers }, `@ here: ${peers.map((p) => `${p.name ?? short(p.peerId ?? p.pageId)}${Object.keys(p.state).length ? ` ${JSON.stringify(p.state)}` : ''}`).join(', ') || 'nobody else'}`),
      )
      if (opts.trace) session.on('trace', (t) => line({ event: 'trace', ...t }, `  ${t.direction === 'in' ? '<-' : '->'} ${short(t.endpointId)} ${t.type} ${t.documentId ?? ''} ${t.bytes}B${t.fault ? ` [${t.fault}]` : ''}`))
      await new Promise<void>((resolve) => {
        const stop = () => resolve()
        stopNow = stop
        if (readerGone) stop()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
        // A supervisor that dies without a word (SIGKILL, a crashed extension host) still closes its end
        // of our stdin pipe: the OS does that for it, on every platform.
        if (opts.stopWithStdin) process.stdin.on('end', stop).on('close', stop).resume()
      })
      await session.stop()
      line({ event: 'stopped' }, 'stopped')
      out.info('')
    })

  program
    .command('ticket')
    .description('print the ticket of the peer that owns a data dir (asks it when running)')
    .requiredOption('--data <dir>', 'the data dir')
    .action(async (opts: { data: string }, cmd: Command) => {
      const out = outputFor(cmd)
      const client = await connectControl(await findControlSocket(opts.data))
      let ticket: string | undefined
      let running = false
      if (client) {
        try {
          ticket = (await client.call<{ ticket: string }>('ticket')).ticket
          running = true
        } finally {
          client.close()
        }
      } else {
        ticket = (await readDataDirInfo(opts.data))?.ticket
      }
      if (!ticket) throw new CliError(`no peer has run in ${opts.data} yet: start one with tonk-p2p serve`, EXIT_USAGE, 'E_NO_PEER')
      out.result({ ok: true, ticket, running }, () => ticket!)
    })

  for (const [name, description] of [
    ['offline', 'take the peer that owns a data dir offline: no connection, no dial, no discovery, no bridge'],
    ['online', 'bring the peer that owns a data dir back online (undoes `offline`)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .requiredOption('--data <dir>', 'the data dir of a running peer')
      .action(async (opts: { data: string }, cmd: Command) => {
        const out = outputFor(cmd)
        const client = await connectControl(await findControlSocket(opts.data))
        if (!client) throw new CliError(`no peer is running in ${opts.data}`, EXIT_INVALID, 'E_NO_PEER')
        try {
          const { online } = await client.call<{ online: boolean }>(name)
          out.result({ ok: true, online }, () => (online ? 'online' : 'offline'))
        } catch (err) {
          throw new CliError((err as Error).message, EXIT_INVALID, (err as { code?: string }).code)
        } finally {
          client.close()
        }
      })
  }
}
