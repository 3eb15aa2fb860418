// Runs the extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3, web client driven by
// Debian's Chromium through playwright-core). Must run inside an isolated network namespace:
//
//   node scripts/isolated.mjs node --import tsx test/e2e/run-code-server.ts --suite
//   node scripts/isolated.mjs node --import tsx test/e2e/run-code-server.ts --scenario test/e2e/scenarios/smoke.ts
//
// Modes (several may be given; they run one after another, each with a fresh code-server and state):
//   --suite            the mocha suite out/test/suite/index.cjs inside the extension host (via the web
//                      client's `payload` query parameter); exit code = the suite's.
//   --scenario FILE    a Playwright scenario module: `export default async (ctx: ScenarioContext) => {}`
//                      (see test/e2e/scenario.ts). Screenshots go to test-artifacts/e2e/<scenario>/.
// Options:
//   --timeout SEC      overall limit for everything (default 300); per-mode limit: --mode-timeout (180)
//   --workspace DIR    folder to copy as the workspace (default examples/my-world, else a minimal one)
//   --keep             keep the temp folder (state, logs, workspace) and print its path
//   --verbose          also print the workbench's start-up chatter (always in the automation log)
//   --vsix FILE        test the packaged extension (npm run package) instead of the repo: it is installed
//                      with `code-server --install-extension FILE --extensions-dir …` before each mode;
//                      scenarios run it as a normal installed extension, the suite loads the installed
//                      folder as the extension under development.
// Env: TONK_VSCODE_CACHE (as in scripts/install-vscode-test-deps.sh), TONK_E2E_GREP (mocha --grep),
//      CHROMIUM (default /usr/bin/chromium).
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { format } from 'node:util'
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core'
import type { Scenario, ScenarioContext } from './scenario'
import { makeWorkspace, ROOT } from './workspace'

const CACHE = process.env.TONK_VSCODE_CACHE ?? join(homedir(), '.cache', 'tonk-p2p', 'code-server')
const CODE_SERVER = join(CACHE, 'cs', 'node_modules', '.bin', 'code-server')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const SUITE_BUNDLE = join(ROOT, 'out', 'test', 'suite', 'index.cjs')
const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e')
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
]
type Mode = { kind: 'suite' } | { kind: 'scenario'; file: string }
interface Args { modes: Mode[]; timeoutSec: number; modeTimeoutSec: number; workspace?: string; keep: boolean; verbose: boolean; vsix?: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { modes: [], timeoutSec: 300, modeTimeoutSec: 180, keep: false, verbose: false }
  for (let i = 0; i < argv.length; i++) {
    const next = () => { const v = argv[++i]; if (v === undefined) usage(`${argv[i - 1]} needs a value`); return v }
    switch (argv[i]) {
      case '--suite': a.modes.push({ kind: 'suite' }); break
      case '--scenario': a.modes.push({ kind: 'scenario', file: resolve(next()) }); break
      case '--timeout': a.timeoutSec = Number(next()); break
      case '--mode-timeout': a.modeTimeoutSec = Number(next()); break
      case '--workspace': a.workspace = resolve(next()); break
      case '--keep': a.keep = true; break
      case '--verbose': a.verbose = true; break
      case '--vsix': a.vsix = resolve(next()); break
      default: usage(`unknown argument ${argv[i]}`)
    }
  }
  if (a.modes.length === 0) usage('give --suite and/or --scenario FILE')
  return a
}

function usage(msg: string): never {
  console.error(`run-code-server: ${msg}\nusage: node --import tsx test/e2e/run-code-server.ts [--suite] [--scenario FILE]... [--timeout SEC] [--mode-timeout SEC] [--workspace DIR] [--keep] [--verbose] [--vsix FILE]`)
  process.exit(2)
}

const log = (...args: unknown[]) => console.log(`[e2e ${new Date().toISOString().slice(11, 23)}]`, ...args)

// ------------------------------------------------------------------ process bookkeeping

/** Pids of everything we started ourselves, so cleanup can end exactly those (by pid, never by name). */
const roots = new Set<number>()
function track(pid: number | undefined): void { if (pid) roots.add(pid) }

function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parentOf.set(Number(name), ppid)
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = []
  const walk = (p: number) => { for (const [c, pp] of parentOf) if (pp === p) { out.push(c); walk(c) } }
  walk(pid)
  return out
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/**
 * Ends every process this runner started: the tracked roots (code-server, Chromium, scenario helpers)
 * and their descendants, by pid. Not all of our own descendants: tsx keeps an esbuild service child.
 */
async function killAll(): Promise<void> {
  const pids = new Set<number>()
  for (const pid of roots) {
    if (!alive(pid)) { roots.delete(pid); continue }
    pids.add(pid)
    for (const d of descendantsOf(pid)) pids.add(d)
  }
  if (pids.size === 0) return
  for (const pid of pids) { try { process.kill(pid, 'SIGTERM') } catch { /* gone */ } }
  const deadline = Date.now() + 5000
  while (Date.now() < deadline && [...pids].some(alive)) await sleep(100)
  for (const pid of pids) if (alive(pid)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
  for (const pid of pids) roots.delete(pid)
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms / 1000}s`)), ms) }),
  ])
}

// ------------------------------------------------------------------ environment checks

function assertIsolated(): void {
  const ifaces = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean)
  if (ifaces.length !== 1 || ifaces[0] !== 'lo') {
    console.error(`run-code-server: refusing to run outside an isolated network namespace (interfaces: ${ifaces.join(', ')}).\n` +
      '  run it as: node scripts/isolated.mjs node --import tsx test/e2e/run-code-server.ts ...')
    process.exit(3)
  }
}

function assertInstalled(needSuite: boolean): void {
  const problems: string[] = []
  if (!existsSync(CODE_SERVER)) problems.push(`code-server missing at ${CODE_SERVER}: npm run test:e2e:install`)
  if (!existsSync(CHROMIUM)) problems.push(`Chromium missing at ${CHROMIUM}: npm run test:e2e:install`)
  const main = join(ROOT, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).main)
  if (!existsSync(main)) problems.push(`extension not built (${main}): node esbuild.mjs --tests`)
  if (needSuite && !existsSync(SUITE_BUNDLE)) problems.push(`suite not built (${SUITE_BUNDLE}): node esbuild.mjs --tests`)
  if (problems.length) { console.error('run-code-server:\n  ' + problems.join('\n  ')); process.exit(2) }
  if (needSuite) {
    const newest = newestMtime(join(ROOT, 'test', 'e2e', 'suite'))
    if (newest > statSync(SUITE_BUNDLE).mtimeMs) log(`warning: ${SUITE_BUNDLE} is older than test/e2e/suite: run node esbuild.mjs --tests`)
  }
}

function newestMtime(dir: string): number {
  return Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs))
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    }).on('error', rej)
  })
}

// ------------------------------------------------------------------ one code-server + Chromium session

interface Session {
  tmp: string; state: string; workspace: string; port: number; baseUrl: string; remote: string
  env: NodeJS.ProcessEnv; codeServer: ChildProcess; csLog: string; browserServer?: BrowserServer; browser?: Browser; page?: Page
  /** Every codeAutomationLog line (workbench log + extension host console). */
  automationLog: string[]
  /** The extension under test: the repo, or the folder the VSIX was installed into. */
  extensionFolder: string
}

/**
 * Installs the VSIX the way a user would (`code-server --install-extension`), into this run's extensions
 * dir, and returns the installed folder. Checks that the native iroh binary came along.
 */
async function installVsix(vsix: string, state: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (!existsSync(vsix)) throw new Error(`--vsix ${vsix}: no such file (npm run package makes it)`)
  const t0 = Date.now()
  const out: string[] = []
  const child = spawn(CODE_SERVER, ['--user-data-dir', join(state, 'user'), '--extensions-dir', join(state, 'ext'), '--install-extension', vsix],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  track(child.pid)
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()))
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()))
  const code = await withTimeout(new Promise<number | null>((r) => child.on('close', r)), 120_000, 'installing the VSIX')
  if (code !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${code}):\n${out.join('')}`)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const folder = readdirSync(join(state, 'ext')).find((f) => f.startsWith(`${pkg.publisher}.${pkg.name}-`))
  if (!folder) throw new Error(`the VSIX installed no ${pkg.publisher}.${pkg.name}-* folder:\n${out.join('')}`)
  const installed = join(state, 'ext', folder)
  // A platform VSIX carries its iroh binary as native/iroh.<key>.node (scripts/package-vsix.ts); the
  // universal one carries none, and its P2P commands explain why.
  const natives = existsSync(join(installed, 'native')) ? readdirSync(join(installed, 'native')) : []
  if (basename(vsix).includes('linux-x64') && !natives.includes('iroh.linux-x64-gnu.node')) {
    throw new Error(`the installed VSIX has no iroh native binary (${join(installed, 'native', 'iroh.linux-x64-gnu.node')})`)
  }
  log(`installed ${basename(vsix)} into ${installed} in ${Date.now() - t0} ms (native: ${natives.join(', ') || 'none'})`)
  return installed
}

/**
 * `workspaceTrust`: Restricted Mode as a user meets it (trust on, the folder untrusted and no startup
 * prompt); otherwise trust is off and every folder is trusted. A scenario asks with `export const workspaceTrust = true`.
 * `extraEnv`: variables for code-server and so the extension host (a scenario's `export const env = {…}`).
 */
async function startSession(name: string, args: Args, installExtension: boolean, workspaceTrust = false, extraEnv: Record<string, string> = {}): Promise<Session> {
  const tmp = mkdtempSync(join(tmpdir(), `tonk-e2e-${name}-`))
  const state = join(tmp, 'state')
  const workspace = makeWorkspace(tmp, args.workspace)
  mkdirSync(join(state, 'ext'), { recursive: true })
  mkdirSync(join(state, 'user', 'User'), { recursive: true })
  writeFileSync(join(state, 'user', 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'security.workspace.trust.enabled': workspaceTrust,
    ...(workspaceTrust ? { 'security.workspace.trust.startupPrompt': 'never' } : {}),
  }, null, 2))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Keep code-server and Chromium out of the home folder.
    XDG_CONFIG_HOME: join(state, 'cfg'), XDG_DATA_HOME: join(state, 'data'), XDG_CACHE_HOME: join(state, 'cache'),
    EXTENSIONS_GALLERY: '{}',
    TMPDIR: join(tmp, 'tmp'),
    ...extraEnv,
  }
  mkdirSync(env.TMPDIR!, { recursive: true })
  let installedExtension: string | undefined
  if (args.vsix) {
    installedExtension = await installVsix(args.vsix, state, env)
  } else if (installExtension) {
    // Scenario mode: the extension is "installed" by a symlink to the repo (the built extension folder).
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    symlinkSync(ROOT, join(state, 'ext', `${pkg.publisher}.${pkg.name}-${pkg.version}`))
  }
  const port = await freePort()
  const csLog = join(tmp, 'code-server.log')
  const fd = openSync(csLog, 'w')
  const codeServer = spawn(CODE_SERVER, [
    '--config', join(state, 'config.yaml'), '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', join(state, 'user'), '--extensions-dir', join(state, 'ext'),
    '--disable-telemetry', '--disable-update-check', ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override', '--disable-proxy', '--ignore-last-opened', workspace,
  ], { env, stdio: ['ignore', fd, fd], detached: true })
  closeSync(fd)
  track(codeServer.pid)
  const s: Session = { tmp, state, workspace, port, baseUrl: `http://127.0.0.1:${port}`, remote: `vscode-remote://127.0.0.1:${port}`, env, codeServer, csLog, automationLog: [], extensionFolder: installedExtension ?? ROOT }
  const t0 = Date.now()
  for (;;) {
    if (codeServer.exitCode !== null) throw new Error(`code-server exited with ${codeServer.exitCode}; log:\n${readFileSync(csLog, 'utf8')}`)
    try { if ((await fetch(`${s.baseUrl}/healthz`)).ok) break } catch { /* not listening yet */ }
    if (Date.now() - t0 > 60_000) throw new Error(`code-server did not answer /healthz within 60 s; log:\n${readFileSync(csLog, 'utf8')}`)
    await sleep(200)
  }
  log(`code-server up on ${s.baseUrl} in ${Date.now() - t0} ms (state ${tmp})`)
  const t1 = Date.now()
  // launchServer rather than launch: it exposes the browser's process, so cleanup can kill it by pid.
  const server = await chromium.launchServer({
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: env as Record<string, string>, timeout: 60_000,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  })
  s.browserServer = server
  track(server.process().pid)
  s.browser = await chromium.connect(server.wsEndpoint(), { timeout: 30_000 })
  s.page = await (await s.browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
  log(`chromium ${s.browser.version()} up in ${Date.now() - t1} ms`)
  return s
}

async function endSession(s: Session, name: string, failed: boolean, keep: boolean): Promise<void> {
  try { await withTimeout(s.browser?.close() ?? Promise.resolve(), 10_000, 'closing the browser connection') } catch (e) { log(String(e)) }
  try { await withTimeout(s.browserServer?.close() ?? Promise.resolve(), 10_000, 'closing Chromium') } catch (e) { log(String(e)) }
  if (s.codeServer.exitCode === null && s.codeServer.pid) {
    try { process.kill(-s.codeServer.pid, 'SIGTERM') } catch { /* gone */ }
    const until = Date.now() + 5000
    while (s.codeServer.exitCode === null && Date.now() < until) await sleep(100)
  }
  await killAll()
  if (failed) {
    mkdirSync(join(ARTIFACTS, name), { recursive: true })
    try { copyFileSync(s.csLog, join(ARTIFACTS, name, 'code-server.log')) } catch { /* no log */ }
    writeFileSync(join(ARTIFACTS, name, 'automation.log'), s.automationLog.join('\n') + '\n')
    log(`logs saved: ${join(ARTIFACTS, name)}/{code-server,automation}.log`)
  }
  if (keep) return log(`kept ${s.tmp}`)
  // A local peer the extension host started can outlive it (re-parented when code-server ended, so not
  // a descendant killAll finds) and still write into its data dir under s.tmp: the removal then failed
  // with ENOTEMPTY once in CI after a passing scenario. Such a process names s.tmp on its command line.
  await killNaming(s.tmp)
  try {
    rmSync(s.tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
  } catch (e) {
    log(`could not remove ${s.tmp}: ${e}`)
  }
}

/** Ends every process whose command line contains `text` (TERM, then KILL after 3 s). */
async function killNaming(text: string): Promise<void> {
  const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)
    } catch {
      return false // exited meanwhile
    }
  })
  if (pids.length === 0) return
  // Which ones (the start of each command line), so a straggler can be traced to what started it.
  const what = pids.map((pid) => {
    try {
      return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 160)}`
    } catch {
      return `${pid}: (gone)`
    }
  })
  log(`ending ${pids.length} process(es) still running in ${text}: ${what.join('; ')}`)
  for (const pid of pids) { try { process.kill(pid, 'SIGTERM') } catch { /* gone */ } }
  const deadline = Date.now() + 3000
  while (Date.now() < deadline && pids.some(alive)) await sleep(100)
  for (const pid of pids) if (alive(pid)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
}

/** Workbench start-up chatter hidden without --verbose (it is still in the automation log). */
const NOISE = /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin|\[Service Worker\]|ChatSessionStore:|Updating additional builtin|Started local extension host|Extension host .*started)/

/**
 * Exposes codeAutomationLog(level, args) before `goto`: the web client sends it the workbench log and the
 * extension host's console (so mocha's reporter), printf-style. Lines go to stdout (noise filtered
 * unless verbose) and to `onLine`.
 */
async function installLogForwarding(page: Page, verbose: boolean, onLine: (line: string) => void): Promise<void> {
  await page.exposeFunction('codeAutomationLog', (level: unknown, args: unknown) => {
    const list = Array.isArray(args) ? args : [args]
    const line = (list.length ? format(...(list as [unknown, ...unknown[]])) : '').replace(/\s+$/, '')
    const tagged = level === 'error' || level === 'warn' || level === 'warning' ? `[${String(level)}] ${line}` : line
    onLine(tagged)
    if (verbose || !NOISE.test(line)) console.log(tagged)
  })
}

// ------------------------------------------------------------------ modes

async function runSuite(args: Args): Promise<number> {
  rmSync(join(ARTIFACTS, 'suite'), { recursive: true, force: true })
  const s = await startSession('suite', args, false)
  let code = 1
  const t0 = Date.now()
  try {
    const page = s.page!
    let exit!: (code: unknown) => void
    const exited = new Promise<unknown>((r) => (exit = r))
    await installLogForwarding(page, args.verbose, (l) => s.automationLog.push(l))
    await page.exposeFunction('codeAutomationExit', (c: unknown) => exit(c))
    const payload = encodeURIComponent(JSON.stringify([
      ['extensionDevelopmentPath', s.remote + s.extensionFolder],
      ['extensionTestsPath', s.remote + SUITE_BUNDLE],
    ]))
    await page.goto(`${s.baseUrl}/?folder=${encodeURIComponent(s.workspace)}&payload=${payload}`)
    const result = await withTimeout(exited, args.modeTimeoutSec * 1000, 'mocha suite')
    code = result === 0 ? 0 : 1
    log(`suite finished with exit code ${String(result)} in ${Date.now() - t0} ms (code-server start excluded)`)
    await screenshotTo(page, join(ARTIFACTS, 'suite', 'final.png'))
  } catch (e) {
    log(`suite: ${(e as Error).message}`)
    if (s.page) await screenshotTo(s.page, join(ARTIFACTS, 'suite', 'failure.png')).catch(() => {})
  } finally {
    await endSession(s, 'suite', code !== 0, args.keep)
  }
  return code
}

async function screenshotTo(page: Page, path: string): Promise<string> {
  mkdirSync(dirname(path), { recursive: true })
  await page.screenshot({ path })
  return path
}

async function runScenario(args: Args, file: string): Promise<number> {
  const name = basename(file, extname(file))
  const dir = join(ARTIFACTS, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const mod = await import(pathToFileURL(file).href) as { default?: Scenario; workspaceTrust?: boolean; env?: Record<string, string> }
  if (typeof mod.default !== 'function') { log(`${file}: no default export function`); return 2 }
  const s = await startSession(name, args, true, mod.workspaceTrust === true, mod.env)
  const page = s.page!
  let shot = 0
  let code = 1
  const t0 = Date.now()
  const ctx: ScenarioContext = {
    page, workspace: s.workspace, root: ROOT, baseUrl: s.baseUrl, artifacts: dir, tmp: s.tmp, env: s.env,
    log: (...a) => log(`[${name}]`, ...a),
    workbenchLog: s.automationLog,
    async screenshot(label) {
      await sleep(500) // notifications and quick inputs slide in
      const p = await screenshotTo(page, join(dir, `${String(++shot).padStart(2, '0')}-${label.replace(/[^\w.-]+/g, '_')}.png`))
      log(`[${name}] screenshot ${p.slice(ROOT.length + 1)}`)
      return p
    },
    async commandPalette(title, opts = {}) {
      // The palette's list is computed when it opens: a command whose `when` clause (or whose extension)
      // becomes ready a moment later is missing. So reopen it until the row shows up or time runs out.
      const input = page.locator('.quick-input-widget .quick-input-box input')
      const rows = page.locator('.quick-input-list .monaco-list-row')
      const row = rows.filter({ hasText: title }).first()
      const until = Date.now() + (opts.timeout ?? 15_000)
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) { await page.keyboard.press('Escape'); await input.waitFor({ state: 'hidden' }).catch(() => {}) }
        await page.keyboard.press('F1')
        await input.waitFor({ state: 'visible' })
        await input.fill(`>${title}`)
        try {
          await row.waitFor({ state: 'visible', timeout: Math.max(500, Math.min(2000, until - Date.now())) })
          break
        } catch (e) {
          if (Date.now() >= until) throw new Error(`command palette: no row "${title}"; rows: ${(await rows.allInnerTexts()).join(' | ')}`, { cause: e })
        }
      }
      const labels = (await rows.allInnerTexts()).map((l) => l.replace(/\s+/g, ' ').trim())
      if (opts.run) await row.click()
      return labels
    },
    async runCommand(title) { await ctx.commandPalette(title, { run: true }) },
    async closeQuickInput() {
      await page.keyboard.press('Escape')
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' }).catch(() => {})
    },
    notification(text) { return page.locator('.notification-toast', { hasText: text }) },
    viewPane(title) {
      return page.locator('.pane', { has: page.locator('.pane-header h3.title', { hasText: title }) })
    },
    webview(index = 0) {
      // Each webview is an <iframe class="webview ready"> whose content lives in its inner #active-frame.
      return page.frameLocator('iframe.webview.ready').nth(index).frameLocator('#active-frame')
    },
    dialog(text) { return page.locator('.monaco-dialog-box', text === undefined ? {} : { hasText: text }) },
    async dismissDialog(button = 'OK') {
      const box = page.locator('.monaco-dialog-box')
      await box.getByRole('button', { name: button }).click()
      await box.waitFor({ state: 'hidden' })
    },
    spawn(command, argv, options = {}) {
      const child = spawn(command, argv, { env: s.env, cwd: s.workspace, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options })
      track(child.pid)
      const tag = `[${name}:${basename(command)}]`
      child.stdout?.on('data', (d: Buffer) => process.stdout.write(d.toString().replace(/^/gm, `${tag} `)))
      child.stderr?.on('data', (d: Buffer) => process.stdout.write(d.toString().replace(/^/gm, `${tag} `)))
      return child
    },
  }
  try {
    await installLogForwarding(page, args.verbose, (l) => s.automationLog.push(l))
    await page.goto(`${s.baseUrl}/?folder=${encodeURIComponent(s.workspace)}`)
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 })
    log(`[${name}] workbench loaded in ${Date.now() - t0} ms`)
    await withTimeout(mod.default(ctx), args.modeTimeoutSec * 1000, `scenario ${name}`)
    code = 0
    log(`[${name}] passed in ${Date.now() - t0} ms`)
  } catch (e) {
    log(`[${name}] FAILED: ${(e as Error).stack ?? e}`)
    await screenshotTo(page, join(dir, 'failure.png')).then((p) => log(`failure screenshot ${p}`)).catch(() => {})
    await logWhatTheUserSaw(page, s.state).catch((err) => log(`no failure details: ${err}`))
  } finally {
    await endSession(s, name, code !== 0, args.keep)
  }
  return code
}

/**
 * CI keeps only this process's output: so a failure prints what was on screen (notifications, an open
 * quick input) and the tail of the extension's own log, which say more than a timeout's call log.
 */
async function logWhatTheUserSaw(page: Page, state: string): Promise<void> {
  const texts = async (selector: string) => (await page.locator(selector).allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean)
  log(`on screen: notifications [${(await texts('.notification-toast')).join(' | ')}]; quick input [${(await texts('.quick-input-widget:visible')).join(' | ')}]`)
  const logs = (dir: string): string[] => !existsSync(dir) ? [] : readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? logs(join(dir, e.name)) : /tonk/i.test(e.name) && e.name.endsWith('.log') ? [join(dir, e.name)] : [])
  for (const file of logs(join(state, 'user', 'logs'))) {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    log(`${file.slice(state.length + 1)} (last ${Math.min(40, lines.length)} of ${lines.length} lines):\n${lines.slice(-40).join('\n')}`)
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  assertIsolated()
  assertInstalled(args.modes.some((m) => m.kind === 'suite'))
  let worst = 0
  for (const m of args.modes) {
    const t0 = Date.now()
    const code = m.kind === 'suite' ? await runSuite(args) : await runScenario(args, m.file)
    log(`${m.kind === 'suite' ? 'suite' : basename(m.file)}: ${code === 0 ? 'PASS' : 'FAIL'} (${Date.now() - t0} ms including start and stop)`)
    worst = Math.max(worst, code)
  }
  return worst
}

const overall = Number(process.argv[process.argv.indexOf('--timeout') + 1]) || 300
let timedOut = false
const timer = setTimeout(async () => {
  timedOut = true
  log(`overall timeout of ${overall}s reached: killing everything`)
  await killAll() // main() then fails fast, saves logs and removes its temp folder
  setTimeout(() => process.exit(124), 15_000).unref()
}, overall * 1000)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, async () => { log(`${sig}: cleaning up`); await killAll(); process.exit(130) })
}
main().then(
  async (code) => { clearTimeout(timer); await killAll(); process.exit(timedOut ? 124 : code) },
  async (e) => { clearTimeout(timer); log(`error: ${(e as Error).stack ?? e}`); await killAll(); process.exit(timedOut ? 124 : 1) },
)
