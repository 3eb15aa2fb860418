// Types for Playwright scenarios run by test/e2e/run-code-server.ts --scenario FILE.
// A scenario is a module whose default export is `async (ctx: ScenarioContext) => void`; it throws to fail.
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import type { FrameLocator, Locator, Page } from 'playwright-core'

export interface ScenarioContext {
  /** The workbench page (code-server's web client in headless Chromium), already loaded. */
  page: Page
  /** Absolute path of the opened workspace folder (a temp copy of examples/my-world, or a minimal one). */
  workspace: string
  /** The repository (= the extension folder, symlinked into code-server's extensions dir). */
  root: string
  /** http://127.0.0.1:PORT of this code-server. */
  baseUrl: string
  /** test-artifacts/e2e/<scenario>/ (emptied before the run). */
  artifacts: string
  /** This session's temp folder (code-server state, TMPDIR); removed afterwards unless --keep. */
  tmp: string
  /** The environment code-server runs with (XDG dirs under tmp); use it for helper processes. */
  env: NodeJS.ProcessEnv
  log(...args: unknown[]): void
  /** Every codeAutomationLog line so far (workbench log + extension host console). */
  workbenchLog: string[]
  /** Waits 500 ms (animations), saves artifacts/NN-label.png, returns its path. */
  screenshot(label: string): Promise<string>
  /**
   * F1, types `>title`, waits for a row containing `title` (reopening the palette until it appears:
   * its list is computed on open), returns the visible row labels. Leaves the palette open unless
   * `run` (then clicks the first row containing `title`). Default timeout 15 s.
   */
  commandPalette(title: string, opts?: { run?: boolean; timeout?: number }): Promise<string[]>
  /** commandPalette(title, { run: true }): runs the command by its palette title, e.g. 'Tonk: Pack Bundle'. */
  runCommand(title: string): Promise<void>
  /** Escape, and wait for the quick input to close. */
  closeQuickInput(): Promise<void>
  /** Locator of a notification toast containing `text` (`await expect…` style: `.waitFor()`). */
  notification(text: string | RegExp): Locator
  /**
   * A view pane (sidebar/panel section) by its header title, e.g. viewPane('Peers'); its tree items are
   * `.monaco-list-row`. Open a view first with runCommand('<Container>: Focus on <Name> View').
   */
  viewPane(title: string | RegExp): Locator
  /**
   * The content of the index-th open webview (panel or webview view), i.e. its inner #active-frame,
   * in DOM order. Query it like a page: webview().locator('h1').
   */
  webview(index?: number): FrameLocator
  /** Locator of a modal dialog (VS Code shows command errors as one), optionally containing `text`. */
  dialog(text?: string | RegExp): Locator
  /** Clicks `button` (default OK) in the modal dialog and waits for it to close. */
  dismissDialog(button?: string): Promise<void>
  /**
   * Starts a helper process (e.g. a headless CLI peer) in the same network namespace, cwd = workspace,
   * output prefixed on stdout. It is killed when the scenario ends, pass or fail.
   */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess
}

export type Scenario = (ctx: ScenarioContext) => Promise<void>
