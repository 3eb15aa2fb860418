// The engine as a library (issue 16), as an app gets it: `npm pack` the built package, install the
// tarball into a fresh project, type-check a consumer of `tonk-p2p/engine` with node16 resolution, and sync
// a document between two node processes (examples/node-peer, ESM) in one fresh network namespace; then
// require() the CJS entry. Needs `npm run build` output (dist/engine) and the registry mirror or cache.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import assert from 'node:assert/strict'

const ROOT = resolve(import.meta.dirname, '../..')
const sh = (cmd: string, args: string[], cwd: string, timeout = 120_000) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] })

describe('tonk-p2p/engine as an installed package', function () {
  this.timeout(240_000)
  let dir: string
  let app: string
  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'tonk-lib-'))
    app = join(dir, 'app')
    mkdirSync(app)
    // Declarations and bundles as `npm pack` would build them (prepack), without rebuilding the extension.
    sh(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.engine.json'], ROOT)
    sh('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT)
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n')
    // Offline: the test runs in a namespace without the registry, so dependencies come from npm's cache.
    sh('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, tarball), '@automerge/automerge-repo@2.5.6'], app, 180_000)
  })
  after(() => dir && rmSync(dir, { recursive: true, force: true }))

  it('type-checks an app importing tonk-p2p/engine (node16 resolution)', function () {
    copyFileSync(join(ROOT, 'test/integration/library/consumer-check.ts.txt'), join(app, 'check.ts'))
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, target: 'es2022', skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
      files: ['check.ts'],
    }))
    sh(join(ROOT, 'node_modules/.bin/tsc'), ['-p', '.'], app)
  })

  it('syncs a document between two processes (ESM) and loads through require() (CJS)', function () {
    copyFileSync(join(ROOT, 'examples/node-peer/index.mjs'), join(app, 'index.mjs'))
    const script = `ip link set lo up
node index.mjs ${dir}/a > a.out 2>a.err & A=$!
for i in $(seq 100); do [ -s a.out ] && break; sleep 0.2; done
set -- $(node -e 'const j=JSON.parse(require("fs").readFileSync("a.out","utf8").split("\\n")[0]);console.log(j.ticket+" "+j.url)')
timeout 60 node index.mjs ${dir}/b "$1" "$2"; rc=$?
sleep 1; kill $A; cat a.out; exit $rc`
    mkdirSync(join(dir, 'a')); mkdirSync(join(dir, 'b'))
    const out = sh('unshare', ['-n', 'sh', '-c', script], app, 120_000)
    const want = JSON.stringify({ lines: ['hello from the first peer', 'hello from the second peer'] })
    // Both the dialer's own view and the first peer's change event show the merged document.
    assert.equal(out.split('\n').filter((l) => l === want).length, 2, out)
    const cjs = sh('node', ['-e', 'const e=require("tonk-p2p/engine");console.log([typeof e.IrohNetworkAdapter,typeof e.CrashSafeStorageAdapter,typeof e.createEndpoint,typeof e.initAutomerge].join())'], app)
    assert.equal(cjs.trim(), 'function,function,function,function')
  })
})
