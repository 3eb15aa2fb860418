// What several real-VS-Code scenarios do alike: run the CLI beside VS Code, and find the open webview
// that shows something.
import { join } from 'node:path'
import type { FrameLocator } from 'playwright-core'
import { until } from './poll'
import type { ScenarioContext } from './scenario'

/** Runs `tonk-p2p ARGS` (out/cli.cjs, in the scenario's namespace) to completion: its stdout, or throws on a non-zero exit. */
export function cliRunner(ctx: ScenarioContext, cwd?: string): (args: string[], cwdOverride?: string) => Promise<string> {
  const cliJs = join(ctx.root, 'out', 'cli.cjs')
  return (args, cwdOverride) =>
    new Promise<string>((resolve, reject) => {
      const dir = cwdOverride ?? cwd
      const child = ctx.spawn(process.execPath, [cliJs, ...args], dir ? { cwd: dir } : {})
      let out = ''
      let err = ''
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tonk-p2p ${args.join(' ')}: exit ${code}: ${err}`))))
    })
}

/** The open webview whose content has `selector` (panels are iframes in DOM order), polled for up to `ms`. */
export function webviewWith(ctx: ScenarioContext, selector: string, what: string, ms = 60_000, everyMs?: number): Promise<FrameLocator> {
  return until(
    what,
    async () => {
      const count = await ctx.page.locator('iframe.webview.ready').count()
      for (let i = 0; i < count; i++) {
        const frame = ctx.webview(i)
        if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame
      }
      return undefined
    },
    ms,
    everyMs,
  )
}
