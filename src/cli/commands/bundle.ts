// pack / validate / inspect / init: the bundle commands, thin over src/core/bundle.
import { createHash } from 'node:crypto'
import { stat, mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import {
  BundleError,
  extractBundle,
  loadBundle,
  packDirectory,
  readPublisherKey,
  validateBundleFile,
  validateDirectory,
  type Issue,
} from '../../core/bundle'
import { isTonkFileName } from '../../core/tonk'
import { addAppKey, createNewBundle } from '../../core/bundle/new-bundle'
import { writeReplacing } from '../../core/store/durable-fs'
import { bundleCall, CliError, EXIT_INVALID, EXIT_USAGE, formatBytes, issueLine, outputFor, table } from '../output'
import { inspectTonk, unpackTonkFile, validateTonk } from './tonk'



async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    throw new CliError(`${path}: no such file or folder`, EXIT_USAGE, 'E_NOT_FOUND')
  }
}

export function registerBundleCommands(program: Command): void {
  program
    .command('pack')
    .description('pack a bundle folder (with tonk.json) into a deterministic .zip bundle')
    .argument('<dir>', 'bundle folder')
    .requiredOption('-o, --output <file>', 'the .zip to write')
    .option('--ignore <pattern...>', 'extra ignore patterns (as in .tonkignore)')
    .option('--sign-key <file>', 'sign the bundle as publisher with this key (from tonk-p2p keygen)')
    .action(async (dir: string, opts: { output: string; ignore?: string[]; signKey?: string }, cmd: Command) => {
      const out = outputFor(cmd)
      if (!(await isDirectory(dir))) throw new CliError(`${dir} is not a folder`, EXIT_USAGE, 'E_USAGE')
      const signKey = opts.signKey ? (await bundleCall(() => readPublisherKey(opts.signKey!))).secretKey : undefined
      const packed = await bundleCall(() => packDirectory(dir, { ignore: opts.ignore, signKey }))
      const target = resolve(opts.output)
      await mkdir(dirname(target), { recursive: true })
      // Never a half-written bundle behind, even after a crash.
      await writeReplacing(target, packed.zip)
      const zipSha256 = createHash('sha256').update(packed.zip).digest('hex')
      out.result(
        {
          ok: true,
          output: target,
          bundleId: packed.bundleId,
          name: packed.manifest.name,
          version: packed.manifest.version,
          files: packed.manifest.files.length,
          bytes: packed.zip.length,
          zipSha256,
          publisher: packed.manifest.sync.publisher?.publicKey,
        },
        () =>
          [
            `packed ${packed.manifest.name}@${packed.manifest.version} -> ${opts.output}`,
            `  bundleId  ${packed.bundleId}`,
            `  files     ${packed.manifest.files.length}`,
            `  size      ${formatBytes(packed.zip.length)}`,
            `  zip sha256 ${zipSha256}`,
            ...(packed.manifest.sync.publisher ? [`  publisher ${packed.manifest.sync.publisher.publicKey} (signed)`] : []),
          ].join('\n'),
      )
    })

  program
    .command('validate')
    .description('validate a bundle (.zip), a bundle folder or a Tonk file (.tonk); exit 1 when it has errors')
    .argument('<path>', 'bundle .zip, folder or .tonk')
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd)
      if (isTonkFileName(path) && !(await isDirectory(path))) return validateTonk(path, out)
      const report = (await isDirectory(path))
        ? await bundleCall(() => validateDirectory(path))
        : await bundleCall(() => validateBundleFile(path))
      const errors = report.issues.filter((i) => i.severity === 'error')
      out.result({ ok: errors.length === 0, path, bundleId: report.manifest?.sync?.bundleId, issues: report.issues }, () =>
        errors.length === 0
          ? [`${path}: valid`, ...report.issues.map(issueLine)].join('\n')
          : `${path}: ${errors.length} error(s)`,
      )
      if (errors.length > 0) {
        for (const issue of report.issues) out.error(issueLine(issue))
        process.exitCode = EXIT_INVALID
      }
    })

  program
    .command('inspect')
    .description('verify a bundle (.zip) or a Tonk file (.tonk) and show its manifest, files, sizes and ids')
    .argument('<file>', 'bundle .zip or .tonk')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd)
      if (await isDirectory(file)) throw new CliError(`${file} is a folder; inspect takes a packed .zip or a .tonk`, EXIT_USAGE, 'E_USAGE')
      if (isTonkFileName(file)) return inspectTonk(file, out)
      const bundle = await bundleCall(() => loadBundle(file))
      const m = bundle.manifest
      const total = m.files.reduce((n, f) => n + f.length, 0)
      out.result({ ok: true, manifest: m, bundleId: bundle.bundleId, sizeOnDisk: bundle.sizeOnDisk, totalBytes: total }, () =>
        [
          `${m.name}@${m.version}${m.description ? ` — ${m.description}` : ''}`,
          `  bundleId        ${bundle.bundleId} (verified)`,
          `  namespace       ${m.sync.namespace}`,
          `  protocol        ${m.sync.protocolVersion} (accepts peers from ${m.sync.minCompatibleVersion})`,
          `  entrypoints     ${m.entrypoints.join(', ')}`,
          `  root document   ${m.sync.rootDocument.documentId} (${m.sync.rootDocument.path})`,
          `  mDNS service    ${m.sync.discovery.mdnsService}`,
          `  DHT key         ${m.sync.discovery.dhtKey ?? '(bundleId)'}`,
          `  bootstrap peers ${m.sync.discovery.bootstrapPeers.length}`,
          `  size            ${formatBytes(bundle.sizeOnDisk)} zipped, ${formatBytes(total)} unpacked, ${m.files.length} files`,
          '',
          table(
            ['path', 'bytes', 'content type'],
            m.files.map((f) => [f.path, String(f.length), f.contentType]),
            [1],
          ),
        ].join('\n'),
      )
    })

  program
    .command('unpack')
    .description('verify a bundle (.zip) or a Tonk file (.tonk, its VFS files) and extract it into a folder (never outside it, never over a file)')
    .argument('<file>', 'bundle .zip or .tonk')
    .requiredOption('-o, --output <dir>', 'folder to extract into (created if missing)')
    .action(async (file: string, opts: { output: string }, cmd: Command) => {
      const out = outputFor(cmd)
      if (isTonkFileName(file)) {
        if (await isDirectory(file)) throw new CliError(`${file} is a folder; unpack takes a .tonk file`, EXIT_USAGE, 'E_USAGE')
        return unpackTonkFile(file, opts.output, out)
      }
      const bundle = await bundleCall(() => loadBundle(file))
      await bundleCall(() => extractBundle(bundle, opts.output))
      out.result({ ok: true, output: resolve(opts.output), bundleId: bundle.bundleId, files: bundle.manifest.files.length }, () =>
        `unpacked ${bundle.manifest.name}@${bundle.manifest.version} (${bundle.manifest.files.length} files) -> ${opts.output}`,
      )
    })

  program
    .command('init')
    .description('create a new bundle folder from the starter template')
    .argument('<dir>', 'folder to create (must be new or empty)')
    .option('--name <name>', 'bundle name (default: the folder name)')
    .option('--namespace <ns>', 'sync namespace (default: name plus a unique suffix)')
    .option('--app-key', 'give an existing bundle folder a random sync.appKey (one app across builds) instead')
    .action(async (dir: string, opts: { name?: string; namespace?: string; appKey?: boolean }, cmd: Command) => {
      const out = outputFor(cmd)
      if (opts.appKey) {
        try {
          await addAppKey(dir)
        } catch (err) {
          throw new CliError((err as Error).message, EXIT_INVALID, 'E_INIT')
        }
        out.result({ ok: true, dir: resolve(dir) }, () => `${join(dir, 'tonk.json')}: added sync.appKey (keep it private for a private app)`)
        return
      }
      let files: string[]
      try {
        files = await createNewBundle(dir, opts)
      } catch (err) {
        throw new CliError((err as Error).message, EXIT_INVALID, 'E_INIT')
      }
      out.result({ ok: true, dir: resolve(dir), files }, () =>
        [`created ${dir}: ${files.join(', ')}`, `next: tonk-p2p pack ${dir} -o ${dir.replace(/\/$/, '')}.zip`].join('\n'),
      )
    })
}
