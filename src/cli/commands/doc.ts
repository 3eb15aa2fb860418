// doc ls|get|put|rm|watch|history|diff|restore: documents of a data dir, through the peer serving it (control socket) or,
// when none runs there, on its storage directly.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { contentTypeFor } from '../../core/bundle/manifest'
import { connectControl, ControlError, type ControlHandler } from '../../core/host/control'
import { findControlSocket } from '../../core/host/control-path'
import { DataDirError } from '../../core/host/data-dir'
import { openOfflineDocs } from '../../core/host/offline-docs'
import { CliError, EXIT_INVALID, EXIT_USAGE, outputFor, table, wantsJson } from '../output'

/** `doc put --file`: base64 of this many bytes still fits a control line (MAX_LINE_BYTES, 16 MiB). */
const MAX_PUT_FILE_BYTES = 12 * 1024 * 1024

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Calls one doc operation on the running peer, or offline on the storage; maps errors to exit codes. */
async function call(dataDir: string, method: string, params: Record<string, unknown>, onEvent?: (e: any) => void): Promise<any> {
  try {
    const client = await connectControl(await findControlSocket(dataDir))
    if (client) {
      try {
        return await client.call(method, params, onEvent)
      } finally {
        client.close()
      }
    }
    const offline = await openOfflineDocs(dataDir)
    try {
      const handler: ControlHandler = offline.handlers[method]!
      let resolveClosed!: () => void
      const closed = new Promise<void>((r) => (resolveClosed = r))
      process.once('SIGINT', () => resolveClosed())
      return await handler(params, { emit: (e) => onEvent?.(e), closed })
    } finally {
      await offline.close()
    }
  } catch (err) {
    if (err instanceof ControlError) throw new CliError(err.message, err.code === 'E_NO_PEER' ? EXIT_USAGE : EXIT_INVALID, err.code)
    if (err instanceof DataDirError && err.code === 'E_DATA_DIR_LOCKED') {
      // A peer runs there but did not answer on its socket: say where we looked, not just "in use".
      throw new CliError(
        `${err.message.replace(/; stop it or use another --data$/, '')}, but its control socket (${await findControlSocket(dataDir)}) does not answer: it may be an older tonk-p2p, or still starting; retry, or stop it to use the data dir directly`,
        EXIT_INVALID,
        err.code,
      )
    }
    throw err
  }
}

/** A DocNode's bytes as text when they are text (mime text/* or valid UTF-8); else a line that says what they are. */
export function bytesAsText(bytes: Buffer, content: unknown): string {
  const mime = content && typeof content === 'object' && typeof (content as { mime?: unknown }).mime === 'string' ? (content as { mime: string }).mime : undefined
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return text.endsWith('\n') ? text.slice(0, -1) : text
  } catch {
    if (mime?.startsWith('text/')) return bytes.toString('utf8') // declared text: print it, odd bytes replaced
    return `(${bytes.length} bytes${mime ? `, ${mime}` : ''}: binary, use --raw)`
  }
}

export function registerDocCommands(program: Command): void {
  program
    .command('export')
    .requiredOption('--data <dir>', 'the data dir of a peer (running or not)')
    .requiredOption('-o, --output <file>', 'the .tonk to write')
    .description("write the data dir's current VFS (root and every document of its PathIndex) as a .tonk")
    .action(async (opts: { data: string; output: string }, cmd: Command) => {
      const out = outputFor(cmd)
      // The peer writes the file itself (atomically, beside the target): no export is too big for the socket.
      const output = resolve(opts.output)
      const r = await call(opts.data, 'export', { output })
      const summary = { output: opts.output, rootId: r.rootId, documents: r.documents, bytes: r.size }
      out.result(summary, () => `${opts.output}: ${r.documents} documents, root ${r.rootId}, ${r.size} bytes`)
    })

  const doc = program.command('doc').description("read and write a data dir's documents by path (/notes/today)")
  const dataOption = ['--data <dir>', 'the data dir of a peer (running or not)'] as const

  doc
    .command('ls')
    .argument('[path]', 'a directory', '/')
    .requiredOption(...dataOption)
    .description('list a directory')
    .action(async (path: string, opts: { data: string }, cmd: Command) => {
      const out = outputFor(cmd)
      const entries = await call(opts.data, 'ls', { path })
      out.result(entries, () =>
        entries.length === 0 ? `${path}: empty` : table(['name', 'type', 'url'], entries.map((e: any) => [e.type === 'dir' ? `${e.name}/` : e.name, e.type, e.url])),
      )
    })

  doc
    .command('get')
    .argument('<path>', 'a document')
    .requiredOption(...dataOption)
    .option('--at <heads>', 'the document as it was at these heads (change hashes from `doc history`, comma-separated)')
    .option('--raw', "write a file's raw bytes to stdout")
    .description('print a document as JSON (now, or as it was at some heads); a file with bytes prints as text when it is text')
    .action(async (path: string, opts: { data: string; at?: string; raw?: boolean }, cmd: Command) => {
      const out = outputFor(cmd)
      const r = await call(opts.data, 'get', { path, ...(opts.at !== undefined ? { at: opts.at } : {}) })
      const bytes = typeof r.bytes === 'string' ? Buffer.from(r.bytes, 'base64') : undefined
      if (opts.raw) {
        if (!bytes) throw new CliError(`${path} has no raw bytes (its content is JSON: drop --raw)`, EXIT_USAGE, 'E_NO_BYTES')
        await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())))
        return
      }
      out.result(r, () => (bytes ? bytesAsText(bytes, r.value) : JSON.stringify(r.value, null, 2)))
    })

  doc
    .command('history')
    .argument('<path>', 'a document')
    .requiredOption(...dataOption)
    .option('--offset <n>', 'first change to list (negative: from the end)', (v) => Number.parseInt(v, 10))
    .option('--limit <n>', 'how many changes (at most 1000)', (v) => Number.parseInt(v, 10), 100)
    .description("list a document's changes, oldest first: time, actor, who wrote it (you, or the peer that says the actor is its own), ops, message and hash")
    .action(async (path: string, opts: { data: string; offset?: number; limit: number }, cmd: Command) => {
      const out = outputFor(cmd)
      const r = await call(opts.data, 'history', { path, offset: opts.offset ?? 0, limit: opts.limit })
      out.result(r, () =>
        [
          `${path}: ${r.total} change${r.total === 1 ? '' : 's'}, heads ${r.heads.join(',')}`,
          table(
            ['#', 'time', 'actor', 'by', 'ops', 'message', 'hash'],
            r.changes.map((c: any) => [String(c.index), c.time ? new Date(c.time).toISOString() : '-', c.actor.slice(0, 12), c.by?.name ?? '?', String(c.ops), c.message ?? '', c.hash]),
          ),
        ].join('\n'),
      )
    })

  doc
    .command('diff')
    .argument('<path>', 'a document')
    .requiredOption(...dataOption)
    .requiredOption('--from <heads>', 'the earlier point (change hashes, comma-separated)')
    .option('--to <heads>', 'the later point (default: now)')
    .description('the paths added, removed and changed between two points of a document')
    .action(async (path: string, opts: { data: string; from: string; to?: string }, cmd: Command) => {
      const out = outputFor(cmd)
      const r = await call(opts.data, 'diff', { path, from: opts.from, ...(opts.to !== undefined ? { to: opts.to } : {}) })
      out.result(r, () =>
        [...r.added.map((p: string) => `+ ${p}`), ...r.removed.map((p: string) => `- ${p}`), ...r.changed.map((p: string) => `~ ${p}`)].join('\n') || 'no differences',
      )
    })

  doc
    .command('restore')
    .argument('<path>', 'a document')
    .requiredOption(...dataOption)
    .requiredOption('--at <heads>', 'the point to go back to (change hashes, comma-separated)')
    .description('make the document what it was at some heads, as a new change that syncs to peers (history stays)')
    .action(async (path: string, opts: { data: string; at: string }, cmd: Command) => {
      const out = outputFor(cmd)
      const r = await call(opts.data, 'restore', { path, at: opts.at })
      out.result({ ok: true, ...r }, () => (r.writes ? `restored ${path} (${r.writes} keys written, heads ${r.heads.join(',')})` : `${path} already has that value`))
    })

  doc
    .command('put')
    .argument('<path>', 'a document (created with its parent directories)')
    .argument('[json]', 'the new content, a JSON object; "-" or absent reads stdin')
    .requiredOption(...dataOption)
    .option('--file <file>', "a file's bytes as the document's raw bytes (content {mime}): how an app's HTML/JS/images live in the VFS")
    .option('--mime <type>', 'with --file: the content type (default: from the file name)')
    .description("replace a document's content; returns once it is on disk")
    .action(async (path: string, json: string | undefined, opts: { data: string; file?: string; mime?: string }, cmd: Command) => {
      const out = outputFor(cmd)
      if (opts.file !== undefined) {
        if (json !== undefined) throw new CliError('give either --file or JSON content, not both', EXIT_USAGE, 'E_USAGE')
        const bytes = await readFile(opts.file).catch((err: NodeJS.ErrnoException) => {
          throw new CliError(`cannot read ${opts.file}: ${err.code ?? err.message}`, EXIT_USAGE, 'E_USAGE')
        })
        // The control socket speaks JSON lines of at most 16 MiB: base64 of 12 MiB fits.
        if (bytes.length > MAX_PUT_FILE_BYTES) throw new CliError(`${opts.file} is over ${MAX_PUT_FILE_BYTES / 1024 / 1024} MiB`, EXIT_USAGE, 'E_USAGE')
        const mime = opts.mime ?? contentTypeFor(opts.file)
        const r = await call(opts.data, 'put-file', { path, bytes: bytes.toString('base64'), mime })
        out.result({ ok: true, ...r }, () => `wrote ${path} (${bytes.length} bytes, ${mime}, ${r.url})`)
        return
      }
      if (opts.mime !== undefined) throw new CliError('--mime goes with --file', EXIT_USAGE, 'E_USAGE')
      const text = json === undefined || json === '-' ? await readStdin() : json
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (err) {
        throw new CliError(`not JSON: ${(err as Error).message}`, EXIT_USAGE, 'E_USAGE')
      }
      const r = await call(opts.data, 'put', { path, value })
      out.result({ ok: true, ...r }, () => `wrote ${path} (${r.url})`)
    })

  doc
    .command('rm')
    .argument('<path>', 'a document or directory entry')
    .requiredOption(...dataOption)
    .description('remove an entry from its directory')
    .action(async (path: string, opts: { data: string }, cmd: Command) => {
      const out = outputFor(cmd)
      const r = await call(opts.data, 'rm', { path })
      if (!r.removed) throw new CliError(`no entry at ${path}`, EXIT_INVALID, 'E_DOC_NOT_FOUND')
      out.result({ ok: true, ...r }, () => `removed ${path}`)
    })

  doc
    .command('watch')
    .argument('<path>', 'a document')
    .requiredOption(...dataOption)
    .option('--count <n>', 'exit after n updates', (v) => Number(v))
    .description('print the document every time it changes (here or on a peer)')
    .action(async (path: string, opts: { data: string; count?: number }, cmd: Command) => {
      const json = wantsJson(cmd)
      await call(opts.data, 'watch', { path, count: opts.count }, (e) => {
        process.stdout.write((json ? JSON.stringify(e) : JSON.stringify(e.value)) + '\n')
      })
    })
}
