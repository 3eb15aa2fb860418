#!/usr/bin/env node
// Removes optional-dependency edges from package-lock.json whose packages the lock does not contain.
// Why: the registry this project installs from lacks some platform builds (e.g. @number0/iroh for
// android/win32, @cbor-extract/* 2.2.3); `npm install` skips them and leaves them out of the lock, but
// keeps the edge, and then `npm ci` refuses the lock as out of sync. Run after every `npm install`;
// test/unit/lockfile.test.ts fails when it is needed.
import { readFileSync, writeFileSync } from 'node:fs'

export function danglingOptionalEdges(lock) {
  const packages = lock.packages ?? {}
  const out = []
  for (const [path, pkg] of Object.entries(packages)) {
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      // Resolution as npm does it: nested node_modules first, then up to the root.
      const parts = path ? path.split('node_modules/').filter(Boolean) : []
      let found = false
      for (let i = parts.length; i >= 0 && !found; i--) {
        const prefix = parts.slice(0, i).map((p) => `node_modules/${p.replace(/\/$/, '')}/`).join('')
        if (packages[`${prefix}node_modules/${dep}`]) found = true
      }
      if (!found) out.push({ path, dep })
    }
  }
  return out
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const file = process.argv[2] ?? 'package-lock.json'
  const lock = JSON.parse(readFileSync(file, 'utf8'))
  const dangling = danglingOptionalEdges(lock)
  for (const { path, dep } of dangling) delete lock.packages[path].optionalDependencies[dep]
  writeFileSync(file, JSON.stringify(lock, null, 2) + '\n')
  console.log(`prune-lockfile: removed ${dangling.length} optional edge(s) to packages the registry does not have`)
  for (const { path, dep } of dangling) console.log(`  ${path || '(root)'} -> ${dep}`)
}
