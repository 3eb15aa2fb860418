// link: faults per link on the running peer of a data dir (issue 17; src/core/net/link-fault.ts), and
// peers: that peer's peers as a table or JSON, fault included.
import type { Command } from 'commander'
import { connectControl, type ControlClient } from '../../core/host/control'
import { findControlSocket } from '../../core/host/control-path'
import type { LinkFault } from '../../core/net/link-fault'
import type { SessionSnapshot } from '../../core/session/session'
import { CliError, EXIT_INVALID, EXIT_USAGE, formatBytes, makeOutput, table } from '../output'

interface LinkOptions {
  data: string
  drop?: boolean
  delay?: string
  jitter?: string
  loss?: string
  clear?: boolean
}

const number = (flag: string, text: string): number => {
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} wants a number ≥ 0, got "${text.slice(0, 20)}"`, EXIT_USAGE, 'E_USAGE')
  return n
}

function faultOf(opts: LinkOptions): LinkFault | null {
  const chosen = [opts.drop, opts.delay !== undefined, opts.loss !== undefined, opts.clear].filter(Boolean).length
  if (chosen !== 1) throw new CliError('give exactly one of --drop, --delay MS, --loss PCT, --clear', EXIT_USAGE, 'E_USAGE')
  if (opts.jitter !== undefined && opts.delay === undefined) throw new CliError('--jitter goes with --delay', EXIT_USAGE, 'E_USAGE')
  if (opts.clear) return null
  if (opts.drop) return { kind: 'drop' }
  if (opts.loss !== undefined) return { kind: 'loss', pct: number('--loss', opts.loss) }
  return { kind: 'delay', ms: number('--delay', opts.delay!), ...(opts.jitter !== undefined && { jitterMs: number('--jitter', opts.jitter) }) }
}

async function withControl<T>(dataDir: string, run: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await connectControl(await findControlSocket(dataDir))
  if (!client) throw new CliError(`no peer is running in ${dataDir}`, EXIT_INVALID, 'E_NO_PEER')
  try {
    return await run(client)
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError((err as Error).message, EXIT_INVALID, (err as { code?: string }).code)
  } finally {
    client.close()
  }
}

export function registerLinkCommands(program: Command): void {
  program
    .command('link')
    .description("put a fault on one peer's link (both directions) of a running peer, or clear it")
    .argument('<peer>', 'endpoint id, a unique prefix of one, or a peer name')
    .requiredOption('--data <dir>', 'the data dir of a running peer')
    .option('--drop', 'drop every frame (a partition; the QUIC connection stays up)')
    .option('--delay <ms>', 'hold every frame this long')
    .option('--jitter <ms>', 'with --delay: ± this much, order kept')
    .option('--loss <pct>', 'drop this share of frames')
    .option('--clear', 'remove the fault (sync restarts with that peer)')
    .action(async (peer: string, opts: LinkOptions, cmd: Command) => {
      const out = makeOutput(Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json))
      const fault = faultOf(opts)
      const r = await withControl(opts.data, (c) => c.call<{ endpointId: string; name?: string; fault: { label: string } | null }>('link', { peer, fault }))
      out.result(r, () => `${r.name ?? 'peer'} ${r.endpointId.slice(0, 12)}: ${r.fault ? r.fault.label : 'no fault'}`)
    })

  program
    .command('peers')
    .description("the peers of a running peer: state, path, RTT, bytes, build, how found, each one's own links, fault")
    .requiredOption('--data <dir>', 'the data dir of a running peer')
    .action(async (opts: { data: string }, cmd: Command) => {
      const out = makeOutput(Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json))
      const snap = await withControl(opts.data, (c) => c.call<SessionSnapshot>('status'))
      // A reported link by the name we know its peer by, else a short id.
      const nameOf = (id: string) => (id === snap.endpointId ? 'you' : snap.peers.find((q) => q.endpointId === id)?.name ?? id.slice(0, 8))
      const peers = snap.peers.map((p) => ({
        endpointId: p.endpointId,
        name: p.name,
        state: p.state,
        path: p.path,
        rttMs: p.rttMs,
        // A ping's round trip through our framing, where link faults apply (rttMs is QUIC's, below it).
        syncRttMs: p.syncRttMs,
        bytesIn: p.bytesIn,
        bytesOut: p.bytesOut,
        build: p.build,
        foundBy: p.source,
        fault: p.fault,
        // Whom this peer says it is linked to (its link report): the mesh beyond our own links.
        links: p.links ?? [],
      }))
      out.result({ endpointId: snap.endpointId, peers }, () =>
        peers.length === 0
          ? 'no peers'
          : table(
              ['peer', 'name', 'state', 'path', 'rtt', 'in', 'out', 'found by', 'its links', 'fault'],
              peers.map((p) => [
                p.endpointId.slice(0, 12),
                p.name ?? '-',
                p.state,
                p.path ? `${p.path.kind} ${p.path.remoteAddr}` : '-',
                [p.rttMs !== undefined ? `${Math.round(p.rttMs)} ms` : '-', p.syncRttMs !== undefined && Math.abs(p.syncRttMs - (p.rttMs ?? 0)) > 20 ? `(sync ${Math.round(p.syncRttMs)} ms)` : ''].join(' ').trim(),
                formatBytes(p.bytesIn),
                formatBytes(p.bytesOut),
                p.foundBy,
                p.links.length ? p.links.map((l) => nameOf(l.id)).join(' ') : '-',
                p.fault ? `${p.fault.label} (${p.fault.dropped} dropped, ${p.fault.delayed} delayed)` : '-',
              ]),
            ),
      )
    })
}
