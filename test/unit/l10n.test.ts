// The extension's messages are localizable: every notification, prompt and status text goes through
// vscode.l10n.t with a literal message, and l10n/bundle.l10n.json (what translators copy) lists them all.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
// @ts-expect-error: a plain .mjs script without types
import { collectMessages, l10nCalls, sourceFiles } from '../../scripts/l10n-export.mjs'

const root = join(import.meta.dirname, '..', '..')
const files: string[] = sourceFiles(join(root, 'src', 'extension'))

describe('l10n', () => {
  it('every vscode.l10n.t call takes a string literal (so the bundle can list it)', () => {
    const bad = files.filter((f) => (l10nCalls(readFileSync(f, 'utf8')) as Array<string | null>).includes(null)).map((f) => relative(root, f))
    assert.deepEqual(bad, [])
  })

  it('l10n/bundle.l10n.json lists exactly the messages in the code (node scripts/l10n-export.mjs)', () => {
    const committed = JSON.parse(readFileSync(join(root, 'l10n', 'bundle.l10n.json'), 'utf8'))
    assert.deepEqual(committed, collectMessages())
  })

  it('no notification, prompt or title shows a raw string literal', () => {
    const raw = /\bshow(?:Information|Warning|Error)Message(?:<[^>]*>)?\(\s*['"`]|\b(?:title|prompt|placeHolder|saveLabel|openLabel): ['"`]/g
    // A tree item's command title (`{ command: 'tonk.…', title: … }`) is not shown: not counted.
    const offenders = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(raw)].filter((m) => !/command: '[\w.]+', $/.test(m.input!.slice(Math.max(0, m.index! - 60), m.index))).map((m) => `${relative(root, f)}: ${m[0]}`),
    )
    assert.deepEqual(offenders, [])
  })

  it('the package declares the bundle and ships it', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    assert.equal(pkg.l10n, './l10n')
    assert.match(readFileSync(join(root, '.vscodeignore'), 'utf8'), /^!l10n\/\*\*$/m)
  })
})
