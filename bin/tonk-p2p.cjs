#!/usr/bin/env node
// The `tonk-p2p` command: the CLI is bundled by esbuild.mjs into out/cli.cjs (npm ci runs the build).
require('../out/cli.cjs')
