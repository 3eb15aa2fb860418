#!/usr/bin/env node
// Writes l10n/bundle.l10n.json: every message the extension passes to vscode.l10n.t, keyed by itself
// (the English original), for translators to copy to bundle.l10n.<locale>.json. Run after changing
// a message: `node scripts/l10n-export.mjs` (test/unit/l10n.test.ts fails when the file is stale).
// Why not @vscode/l10n-dev: it pulls an Azure translation client and tree-sitter WASM to do this one
// extraction, which is simple because our calls take a string literal first (the test checks that).
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')

export function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** The first argument of every vscode.l10n.t( call: a string literal, decoded; `null` for anything else. */
export function l10nCalls(text) {
  const out = []
  for (const m of text.matchAll(/vscode\.l10n\.t\(\s*/g)) {
    const at = m.index + m[0].length
    const q = text[at]
    if (q !== "'" && q !== '"') {
      out.push(null)
      continue
    }
    let i = at + 1
    let raw = ''
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') {
        raw += text.slice(i, i + 2)
        i += 2
      } else raw += text[i++]
    }
    // A JS string literal as JSON: swap the quote escaping, then parse.
    out.push(JSON.parse(`"${raw.replace(/\\'/g, "'").replace(/(?<!\\)"/g, '\\"')}"`))
  }
  return out
}

export function collectMessages() {
  const messages = new Set()
  for (const file of sourceFiles(join(root, 'src', 'extension'))) {
    for (const message of l10nCalls(readFileSync(file, 'utf8'))) if (message !== null) messages.add(message)
  }
  return Object.fromEntries([...messages].sort().map((m) => [m, m]))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(join(root, 'l10n'), { recursive: true })
  const bundle = collectMessages()
  writeFileSync(join(root, 'l10n', 'bundle.l10n.json'), JSON.stringify(bundle, null, 2) + '\n')
  console.log(`l10n/bundle.l10n.json: ${Object.keys(bundle).length} messages`)
}
