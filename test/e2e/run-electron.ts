// Second launcher, for contributors with a desktop VS Code: the same mocha suite
// (out/test/suite/index.cjs) through @vscode/test-electron, with --extensionDevelopmentPath = the repo.
//
//   node esbuild.mjs --tests
//   VSCODE_EXECUTABLE_PATH=/path/to/code node scripts/isolated.mjs node --import tsx test/e2e/run-electron.ts
//   (or: VSCODE_EXECUTABLE_PATH=... npm run test:e2e:electron)
//
// VSCODE_EXECUTABLE_PATH is required: without it test-electron would download VS Code from the internet,
// which this project never does (and which cannot work on the build machines). Point it at the
// *executable*, e.g. /usr/share/code/code (Linux .deb), "/Applications/Visual Studio Code.app/Contents/MacOS/Electron"
// (macOS; `Code` in older versions), or "%LOCALAPPDATA%\Programs\Microsoft VS Code\Code.exe" (Windows). Use a
// VS Code ≥ 1.100 (engines.vscode). Desktop VS Code needs a display: on a headless Linux box use xvfb-run.
// Run it inside scripts/isolated.mjs like everything that starts the extension (it may bind iroh/mDNS
// sockets); as non-root that is `unshare -rn` (Electron sees uid 0; test-electron passes --no-sandbox).
import { runTests } from '@vscode/test-electron'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeWorkspace, ROOT } from './workspace'

async function main(): Promise<number> {
  const executable = process.env.VSCODE_EXECUTABLE_PATH
  if (!executable) {
    console.error('run-electron: set VSCODE_EXECUTABLE_PATH to a desktop VS Code executable (no download is ever attempted).\n' +
      '  here (no desktop VS Code) use: npm run test:e2e   (code-server + Chromium)')
    return 2
  }
  if (!existsSync(executable)) { console.error(`run-electron: ${executable} does not exist`); return 2 }
  const suite = join(ROOT, 'out', 'test', 'suite', 'index.cjs')
  if (!existsSync(suite)) { console.error(`run-electron: ${suite} missing: run node esbuild.mjs --tests`); return 2 }

  const tmp = mkdtempSync(join(tmpdir(), 'tonk-e2e-electron-'))
  const userData = join(tmp, 'user')
  mkdirSync(join(userData, 'User'), { recursive: true })
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false,
    'update.mode': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoUpdate': false,
  }))
  const workspace = makeWorkspace(tmp)
  try {
    return await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: suite,
      extensionTestsEnv: { TONK_E2E_GREP: process.env.TONK_E2E_GREP, TONK_E2E_TEST_TIMEOUT: process.env.TONK_E2E_TEST_TIMEOUT },
      launchArgs: [
        workspace,
        '--user-data-dir', userData,
        '--extensions-dir', join(tmp, 'ext'),
        '--disable-extensions', // other installed extensions stay off; the one under development still loads
        '--disable-telemetry',
        // test-electron itself adds --no-sandbox --disable-gpu-sandbox --disable-updates --skip-welcome
        // --skip-release-notes --disable-workspace-trust.
      ],
    })
  } catch (e) {
    console.error(`run-electron: ${(e as Error).message}`)
    return 1
  } finally {
    if (!process.env.TONK_E2E_KEEP) rmSync(tmp, { recursive: true, force: true })
  }
}

process.exit(await main())
