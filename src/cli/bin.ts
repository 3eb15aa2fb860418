// Entry point of the `tonk-p2p` binary (bundled to out/cli.cjs); src/cli/main.ts stays importable by tests.
import { runCli } from './main'

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
