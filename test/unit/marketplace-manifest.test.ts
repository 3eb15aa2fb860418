// package.json as the Marketplace and `vsce package` read it: license, changelog, icon, links, honest
// categories, extensionKind with its reason written down, and settings that render well in the UI.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const nls: Record<string, string> = JSON.parse(readFileSync(join(root, 'package.nls.json'), 'utf8'))
/** A package.json string as VS Code shows it: `%key%` looked up in package.nls.json. */
const localized = (text: string): string => text.replace(/^%([^%]+)%$/, (_, k: string) => nls[k] ?? `<missing ${k}>`)

describe('package.json: ready for the Marketplace', () => {
  it('packages without --allow-missing-repository or --skip-license', () => {
    assert.doesNotMatch(JSON.stringify(pkg.scripts), /--allow-missing-repository|--skip-license/)
    assert.equal(pkg.license, 'MIT')
    assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License\n/)
    assert.match(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${pkg.version.replace(/\./g, '\\.')}$`, 'm'))
    assert.equal(pkg.repository.url, 'https://github.com/tonk-labs/tonk-p2p')
    assert.match(pkg.homepage, /^https:\/\//)
    assert.match(pkg.bugs.url, /^https:\/\//)
    assert.match(pkg.galleryBanner.color, /^#[0-9a-f]{6}$/i)
  })

  it('has a 128×128 PNG icon that scripts/make-icon.mjs reproduces byte for byte', () => {
    const icon = readFileSync(join(root, pkg.icon))
    assert.deepEqual([...icon.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    assert.equal(icon.toString('ascii', 12, 16), 'IHDR')
    assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [128, 128])
    const dir = mkdtempSync(join(tmpdir(), 'tonk-icon-'))
    try {
      execFileSync(process.execPath, [join(root, 'scripts', 'make-icon.mjs'), join(dir, 'icon.png')])
      assert.ok(readFileSync(join(dir, 'icon.png')).equals(icon), 'media/icon.png is not what the script draws: rerun it')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('claims only categories it has (no Debuggers without a debug adapter)', () => {
    assert.ok(!pkg.categories.includes('Debuggers'))
    assert.equal(pkg.contributes.debuggers, undefined)
  })

  it('runs where the workspace is, and the README says why', () => {
    assert.deepEqual(pkg.extensionKind, ['workspace'])
    assert.match(readme, /`extensionKind: \["workspace"\]`: it packs the workspace folder/)
  })

  it('every setting has a markdownDescription and its own place in the Settings UI', () => {
    const props = Object.entries(pkg.contributes.configuration.properties) as [string, Record<string, unknown>][]
    for (const [key, p] of props) {
      assert.equal(typeof p.markdownDescription, 'string', `${key}: markdownDescription`)
      assert.equal(p.description, undefined, `${key}: description and markdownDescription both set`)
      assert.ok(Number.isInteger(p.order), `${key}: order`)
    }
    const orders = props.map(([, p]) => p.order)
    assert.equal(new Set(orders).size, orders.length, 'two settings share an order')
  })

  it('walks a new user through with images that exist and commands that are contributed', () => {
    const [walk] = pkg.contributes.walkthroughs as { steps: { description: string; media: { image: string } }[] }[]
    assert.ok(walk && walk.steps.length >= 5, 'a getting-started walkthrough of at least five steps')
    const contributed = new Set((pkg.contributes.commands as { command: string }[]).map((c) => c.command))
    const welcome = (pkg.contributes.viewsWelcome as { contents: string }[]).map((w) => w.contents)
    for (const text of [...walk.steps.map((s) => s.description), ...welcome].map(localized)) {
      for (const [, id] of text.matchAll(/\(command:(tonk\.[A-Za-z]+)\)/g)) {
        if (!id!.endsWith('.focus')) assert.ok(contributed.has(id!), `${id} is linked but not contributed`)
      }
    }
    for (const step of walk.steps) assert.ok(existsSync(join(root, step.media.image)), `${step.media.image} exists`)
  })

  it('keeps every user-facing string of package.json in package.nls.json, and no stale ones', () => {
    const used = new Set([...JSON.stringify(pkg).matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]!))
    const defined = new Set(Object.keys(nls))
    assert.deepEqual([...used].filter((k) => !defined.has(k)), [], 'keys used but not in package.nls.json')
    assert.deepEqual([...defined].filter((k) => !used.has(k)), [], 'keys in package.nls.json nobody uses')
    for (const c of pkg.contributes.commands as { title: string }[]) assert.match(c.title, /^%.+%$/, 'command titles are localizable')
  })
})
