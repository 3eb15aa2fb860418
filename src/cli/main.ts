// tonk-p2p: the command-line front over src/core (the same engine as the VS Code extension).
import { Command, CommanderError } from 'commander'
import { registerBundleCommands } from './commands/bundle'
import { registerDocCommands } from './commands/doc'
import { registerKeyCommands } from './commands/keys'
import { registerLinkCommands } from './commands/link'
import { registerPresenceCommand } from './commands/presence'
import { registerServeCommands } from './commands/serve'
import { CliError, EXIT_INVALID, EXIT_USAGE, makeOutput } from './output'

declare const TONK_VERSION: string | undefined

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('tonk-p2p')
    .description('Pack, validate and inspect Tonk bundles; run headless peers that sync them over iroh.')
    .version(typeof TONK_VERSION === 'string' ? TONK_VERSION : 'dev')
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  registerBundleCommands(program)
  registerServeCommands(program)
  registerDocCommands(program)
  registerPresenceCommand(program)
  registerLinkCommands(program)
  registerKeyCommands(program)
  return program
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return process.exitCode === undefined ? 0 : Number(process.exitCode)
  } catch (caught) {
    let err = caught
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE
    }
    const json = program.opts<{ json?: boolean }>().json ?? false
    const out = makeOutput(json)
    // Engine errors with a stable code (E_…) are the user's to fix: no stack trace, exit 1.
    const code = (err as { code?: unknown })?.code
    if (!(err instanceof CliError) && typeof code === 'string' && code.startsWith('E_')) {
      err = new CliError((err as Error).message, EXIT_INVALID, code)
    }
    if (err instanceof CliError) {
      if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: err.code, message: err.message } }) + '\n')
      out.error(`error${err.code ? ` ${err.code}` : ''}: ${err.message}`)
      return err.exitCode
    }
    out.error(`error: ${(err as Error)?.stack ?? String(err)}`)
    return EXIT_INVALID
  }
}
