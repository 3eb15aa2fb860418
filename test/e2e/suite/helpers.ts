// Shared by the real-VS-Code tests: the extension's API, polling, and a headless CLI peer process.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import * as vscode from 'vscode'
import type { TonkApi } from '../../../src/extension/main'

export const EXTENSION_ID = 'tonk.tonk-p2p'

export async function tonkApi(): Promise<TonkApi> {
  const ext = vscode.extensions.getExtension<TonkApi>(EXTENSION_ID)
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`)
  return ext.activate()
}

export function extensionPath(): string {
  return vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath
}

export function workspaceUri(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0]
  if (!folder) throw new Error('no workspace folder')
  return folder.uri
}

/** Polls `check` until it returns something truthy; fails with `what` and the last value after `ms`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const until = Date.now() + ms
  let last: T | undefined
  for (;;) {
    last = await check()
    if (last) return last as NonNullable<T>
    if (Date.now() > until) throw new Error(`timed out after ${ms / 1000} s waiting for ${what} (last: ${JSON.stringify(last)})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `tonk-e2e-${prefix}-`))

/** `tonk-p2p …` of this extension (out/cli.cjs), to completion. */
export function runCli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(extensionPath(), 'out', 'cli.cjs'), ...args], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** A headless `tonk-p2p serve --json` peer; `stop()` ends it by pid (SIGTERM, then SIGKILL). */
export class CliPeer {
  readonly events: { event: string; [k: string]: any }[] = []
  readonly stderr: string[] = []
  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.events.push(JSON.parse(l))
      } catch {
        this.stderr.push(l)
      }
    })
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l))
  }

  static async start(bundle: string, name: string, connect?: string): Promise<CliPeer> {
    const dataDir = tempDir(name)
    const args = [join(extensionPath(), 'out', 'cli.cjs'), '--json', 'serve', bundle, '--data', dataDir, '--name', name, '--bind', '127.0.0.1:0']
    if (connect) args.push('--connect', connect)
    const child = spawn(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    const peer = new CliPeer(child, dataDir)
    await waitFor(`${name} ready (stderr: ${peer.stderr.join(' | ')})`, () => peer.ready, 30_000)
    return peer
  }

  get ready(): { endpointId: string; ticket: string } | undefined {
    return this.events.find((e) => e.event === 'ready') as any
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const closed = new Promise((r) => this.child.once('close', r))
    this.child.kill('SIGTERM')
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await closed
    clearTimeout(t)
  }
}

/** Prints the tail of the extension's "Tonk P2P" log after a failed test (the runner shows stdout). */
export function printLogOnFailure(): void {
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return
    await new Promise((r) => setTimeout(r, 1500)) // the channel writes its file asynchronously
    try {
      const api = await tonkApi()
      const file = join(api.ctx.extension.logUri.fsPath, 'Tonk P2P.log')
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
      console.log(`--- last lines of ${file}:\n${lines.slice(-40).join('\n')}\n---`)
    } catch (err) {
      console.log(`(no Tonk P2P log: ${(err as Error).message})`)
    }
  })
}
