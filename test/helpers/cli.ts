// Runs the built CLI (out/cli.cjs through bin/tonk-p2p.cjs) as a separate process, as a user would.
import { spawn } from 'node:child_process'
import { join } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..', '..')
export const cliBin = join(repoRoot, 'bin', 'tonk-p2p.cjs')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; wrap?: string[]; input?: string; bin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    // `wrap` runs the CLI under a prefix, e.g. `ip netns exec HOST` for a multi-host test.
    const argv = [...(opts.wrap ?? []), process.execPath, opts.bin ?? cliBin, ...args] // `bin`: another copy, e.g. one unpacked from a VSIX
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    if (opts.input !== undefined) child.stdin!.end(opts.input)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tonk-p2p ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 20000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code: code ?? -1, stdout, stderr })
    })
  })
}
