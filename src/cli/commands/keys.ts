// keygen: a publisher signing key for `pack --sign-key` (an ed25519 seed, 64 hex characters; the same
// format as a peer's identity.key, whose public key is the peer's iroh endpoint id).
import type { Command } from 'commander'
import { BundleError, generatePublisherKey, readPublisherKey, writePublisherKey } from '../../core/bundle'
import { CliError, EXIT_INVALID, outputFor } from '../output'

export function registerKeyCommands(program: Command): void {
  program
    .command('keygen')
    .description('create a publisher signing key (for pack --sign-key), or print the public key of an existing key file')
    .requiredOption('-o, --output <file>', 'key file to write (mode 0600; never overwritten)')
    .option('--show', 'do not create: print the public key of the existing file')
    .action(async (opts: { output: string; show?: boolean }, cmd: Command) => {
      const out = outputFor(cmd)
      try {
        const key = opts.show ? await readPublisherKey(opts.output) : generatePublisherKey()
        if (!opts.show) await writePublisherKey(opts.output, key)
        out.result({ ok: true, keyFile: opts.output, publicKey: key.publicKey }, () =>
          [
            `${opts.show ? 'key' : 'wrote'} ${opts.output} (keep it secret)`,
            `public key ${key.publicKey}`,
            'put it in tonk.json as sync.publisher.publicKey, or give it to peers as --require-publisher',
          ].join('\n'),
        )
      } catch (err) {
        if (err instanceof BundleError) throw new CliError(err.message, EXIT_INVALID, err.code)
        throw err
      }
    })
}
