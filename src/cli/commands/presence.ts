// presence: who has the app open (pages and sessions) as the running peer of a data dir sees it, and
// what it shares itself; `--set CHANNEL=JSON` shares something (e.g. to stand in for a user in a demo).
import type { Command } from 'commander'
import { connectControl } from '../../core/host/control'
import { findControlSocket } from '../../core/host/control-path'
import type { PresencePeer } from '../../shared/presence'
import { CliError, EXIT_INVALID, EXIT_USAGE, makeOutput, table } from '../output'

function parseSet(text: string): { channel: string; value: unknown } {
  const eq = text.indexOf('=')
  if (eq <= 0) throw new CliError(`--set wants CHANNEL=JSON, e.g. place='"porto"'; got "${text.slice(0, 60)}"`, EXIT_USAGE, 'E_USAGE')
  const raw = text.slice(eq + 1)
  try {
    return { channel: text.slice(0, eq), value: raw === '' ? undefined : JSON.parse(raw) }
  } catch {
    throw new CliError(`--set ${text.slice(0, eq)}: the value is not JSON (strings need quotes: '"porto"')`, EXIT_USAGE, 'E_USAGE')
  }
}

export function registerPresenceCommand(program: Command): void {
  program
    .command('presence')
    .description('who has the app open, as the running peer of a data dir sees it; --set shares a value')
    .requiredOption('--data <dir>', 'the data dir of a running peer')
    .option('--set <channel=json...>', 'share CHANNEL=JSON (repeatable; an empty value clears it)')
    .action(async (opts: { data: string; set?: string[] }, cmd: Command) => {
      const out = makeOutput(Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json))
      const sets = (opts.set ?? []).map(parseSet)
      const client = await connectControl(await findControlSocket(opts.data))
      if (!client) throw new CliError(`no peer is running in ${opts.data}`, EXIT_INVALID, 'E_NO_PEER')
      try {
        for (const s of sets) await client.call('presence.set', s)
        const r = await client.call<{ mine: Record<string, unknown>; peers: PresencePeer[] }>('presence')
        out.result(r, () =>
          [
            `shared here: ${JSON.stringify(r.mine)}`,
            r.peers.length === 0
              ? 'nobody else is here'
              : table(
                  ['who', 'kind', 'peer', 'shares', 'active'],
                  r.peers.map((p) => [p.name ?? '-', p.kind ?? '-', (p.peerId ?? p.pageId).slice(0, 12), JSON.stringify(p.state), `${Math.round((Date.now() - p.lastActiveAt) / 1000)} s ago`]),
                ),
          ].join('\n'),
        )
      } catch (err) {
        if (err instanceof CliError) throw err
        throw new CliError((err as Error).message, EXIT_INVALID, (err as { code?: string }).code)
      } finally {
        client.close()
      }
    })
}
