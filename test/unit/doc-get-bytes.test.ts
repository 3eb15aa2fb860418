// `doc get` of a raw file (a DocNode with bytes): the control handler sends the bytes (base64, the socket
// speaks JSON) and the CLI prints them as text when they are text, else says to use --raw.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesAsText } from '../../src/cli/commands/doc'
import { docHandlers } from '../../src/core/host/doc-commands'
import { createBundleRepo } from '../../src/core/store/repo'
import { createRootDocumentBytes, rootDocumentId } from '../../src/core/vfs/root-document'
import { DocTree } from '../../src/shared/vfs/doc-tree'
import { loadTonk } from '../../src/core/tonk'

const NAMESPACE = 'doc-get-bytes'
const noEvents = { emit: () => {}, closed: new Promise<void>(() => {}) }

describe('doc get of a file with bytes, and export', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonk-doc-bytes-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('the handler returns the bytes as base64 next to the content; JSON content has none', async () => {
    const bundle = await createBundleRepo({
      dataDir: dir,
      network: [],
      rootDocumentId: rootDocumentId(NAMESPACE),
      rootDocumentBytes: await createRootDocumentBytes(NAMESPACE),
    })
    try {
      const tree = new DocTree(bundle.repo, bundle.root, { findTimeoutMs: 5000 })
      const page = new TextEncoder().encode('<h1>héllo</h1>\n')
      await tree.writeFile('/app/index.html', { mime: 'text/html' }, page)
      await tree.writeDoc('/notes/x', { title: 'json' })
      const get = docHandlers(tree, bundle.repo).get!
      const file: any = await get({ path: '/app/index.html' }, noEvents)
      assert.deepEqual(file.value, { mime: 'text/html' })
      assert.deepEqual(Buffer.from(file.bytes, 'base64'), Buffer.from(page))
      assert.equal(bytesAsText(Buffer.from(file.bytes, 'base64'), file.value), '<h1>héllo</h1>')
      const note: any = await get({ path: '/notes/x' }, noEvents)
      assert.equal(note.bytes, undefined)
      assert.deepEqual(note.value, { title: 'json' })

      // export: the whole VFS as a .tonk that our reader loads with the same tree; equal state, equal bytes.
      const exported: any = await docHandlers(tree, bundle.repo).export!({}, noEvents)
      const again: any = await docHandlers(tree, bundle.repo).export!({}, noEvents)
      assert.equal(exported.bytes, again.bytes)
      const tonk = await loadTonk(Buffer.from(exported.bytes, 'base64'))
      assert.equal(tonk.manifest.rootId, rootDocumentId(NAMESPACE))
      assert.equal(exported.documents, 5) // root, /app, /app/index.html, /notes, /notes/x
      assert.deepEqual(tonk.vfs.nodes.map((n) => n.path), ['/app', '/app/index.html', '/notes', '/notes/x'])
      assert.deepEqual(JSON.parse(new TextDecoder().decode(tonk.vfs.readFile('/notes/x')!.data)), { title: 'json' })
      assert.deepEqual(Buffer.from(tonk.vfs.readFile('/app/index.html')!.data), Buffer.from(page))
    } finally {
      await bundle.close()
    }
  })

  it('prints text by UTF-8 validity or a text/* mime; binary says how many bytes and to use --raw', () => {
    assert.equal(bytesAsText(Buffer.from('plain\n'), { mime: 'application/octet-stream' }), 'plain')
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe])
    assert.equal(bytesAsText(png, { mime: 'image/png' }), '(6 bytes, image/png: binary, use --raw)')
    assert.match(bytesAsText(Buffer.from([0x61, 0xff]), { mime: 'text/plain' }), /^a\uFFFD$/)
  })
})
