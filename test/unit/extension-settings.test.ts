// A repository's .vscode/settings.json must not choose where documents go or what is announced on the
// network: package.json declares those settings machine-scoped and restricted, and the extension reads
// them from user settings only (src/extension/settings.ts). The real-VS-Code half of this check is
// test/e2e/suite/workspace-settings.test.ts.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const props: Record<string, { scope?: string; markdownDescription?: string; order?: number }> = pkg.contributes.configuration.properties
const nls: Record<string, string> = JSON.parse(readFileSync(join(root, 'package.nls.json'), 'utf8'))
/** The text VS Code shows for a `%key%` string of package.json. */
const localized = (text = ''): string => text.replace(/^%([^%]+)%$/, (_, k: string) => nls[k] ?? '')

/** What a workspace must not set, and why (the README "Settings" table says the same). */
const SENSITIVE = {
  'tonk.dataDir': 'where identity and documents are written (a shared folder)',
  'tonk.bridge': 'a server that gets every document of the bundle',
  'tonk.relays': "iroh's public relays and DNS: the IP goes to the internet",
  'tonk.discovery.mdns': 'announces the peer on the LAN',
  'tonk.discovery.exchange': 'tells peers about other peers',
  'tonk.discovery.dht': 'publishes the IP in the Mainline DHT',
  'tonk.discovery.dhtBootstrap': 'which DHT nodes are contacted',
  'tonk.maxFrameBytes': 'how much memory one peer message may take',
}

describe('extension settings: what a workspace can set', () => {
  for (const [key, why] of Object.entries(SENSITIVE)) {
    it(`${key} is machine-scoped and restricted (${why})`, () => {
      assert.ok(props[key], `${key} is contributed`)
      assert.ok(props[key].scope === 'machine' || props[key].scope === 'application', `${key} scope is ${props[key].scope}`)
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), `${key} in restrictedConfigurations`)
      assert.match(localized(props[key].markdownDescription), /workspace cannot set it/)
    })
  }

  it('declares limited support for untrusted workspaces and none for virtual ones, each with a reason', () => {
    const { untrustedWorkspaces, virtualWorkspaces } = pkg.capabilities
    assert.equal(untrustedWorkspaces.supported, 'limited')
    assert.match(untrustedWorkspaces.description, /Restricted Mode/)
    assert.equal(virtualWorkspaces.supported, false)
    assert.ok(virtualWorkspaces.description)
  })

  it('every machine-scoped setting is one the extension reads from user settings only', () => {
    const source = readFileSync(join(root, 'src', 'extension', 'settings.ts'), 'utf8')
    const list = /USER_ONLY_SETTINGS = \[([^\]]*)\]/.exec(source)?.[1]
    assert.ok(list, 'USER_ONLY_SETTINGS found in settings.ts')
    const userOnly = [...list.matchAll(/'([^']+)'/g)].map((m) => `tonk.${m[1]}`).sort()
    const machine = Object.keys(props).filter((k) => props[k].scope === 'machine' || props[k].scope === 'application').sort()
    assert.deepEqual(userOnly, Object.keys(SENSITIVE).sort())
    assert.deepEqual(machine, userOnly)
    assert.deepEqual([...pkg.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), userOnly)
    // Each one goes through userValue() (inspect: global or default), never a plain get().
    for (const key of userOnly.map((k) => k.slice('tonk.'.length))) {
      assert.ok(source.includes(`userValue(c, '${key}'`) || source.includes(`userValue<string[]>(c, '${key}'`), `${key} read with userValue`)
      assert.ok(!source.includes(`get<boolean>('${key}'`) && !source.includes(`get<string>('${key}'`), `${key} not read with get()`)
    }
  })

  it('only settings.ts reads the tonk configuration', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []))
    const readers = files(join(root, 'src'))
      .filter((f) => /getConfiguration\(\s*['"]tonk/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f))
    assert.deepEqual(readers, [join('src', 'extension', 'settings.ts')])
  })
})
