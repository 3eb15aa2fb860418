import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rootDocumentId } from '../../src/core/vfs/root-document'
import {
  BundleError,
  extractBundle,
  loadBundle,
  packDirectory,
  validateBundleFile,
  type BundleErrorCode,
  type BundleLimits,
  type LoadedBundle,
} from '../../src/core/bundle'
import {
  cleanupTemp,
  jsonBytes,
  listTree,
  parseJson,
  tempDir,
  unzipEntries,
  writeSourceDir,
  zipEntries,
} from '../helpers/bundle-fixtures'
import { deflatedZeros, rawZip, unixMode, type RawEntry } from '../helpers/raw-zip'

const MiB = 1024 * 1024
let packed: Uint8Array

async function refused(source: string | Uint8Array, code: BundleErrorCode, limits: Partial<BundleLimits> = {}): Promise<BundleError> {
  try {
    await loadBundle(source, limits)
  } catch (error) {
    assert.ok(error instanceof BundleError, `expected a BundleError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return error
  }
  assert.fail(`loadBundle should refuse with ${code}`)
}

/** Load + extract into a folder inside a fresh parent; the load must fail and the parent stay empty. */
async function refusedAndNothingWritten(zip: Uint8Array, code: BundleErrorCode, limits: Partial<BundleLimits> = {}) {
  const parent = tempDir('tonk-extract-parent-')
  const error = await (async () => {
    try {
      await extractBundle(await loadBundle(zip, limits), join(parent, 'out'))
    } catch (e) {
      return e
    }
  })()
  assert.ok(error instanceof BundleError, `expected a BundleError, got ${String(error)}`)
  assert.equal(error.code, code, error.message)
  assert.deepEqual(readdirSync(parent), [], 'nothing may be written')
  return error
}

/** A well-formed zip of the packed bundle after editing its entries and/or its manifest. */
function tampered(edit: (entries: Map<string, Uint8Array>, manifest: Record<string, any>) => void): Uint8Array {
  const entries = unzipEntries(packed)
  const manifest = parseJson(entries.get('tonk.json')!)
  edit(entries, manifest)
  if (entries.has('tonk.json')) entries.set('tonk.json', jsonBytes(manifest))
  return zipEntries(entries)
}

const file = (name: string | Uint8Array, data = 'x', extra: Partial<RawEntry> = {}): RawEntry => ({
  name,
  data: new TextEncoder().encode(data),
  ...extra,
})

describe('loadBundle', () => {
  before(async () => {
    packed = (await packDirectory(writeSourceDir())).zip
  })
  after(cleanupTemp)

  it('loads a packed bundle from bytes and from a file', async () => {
    const fromBytes = await loadBundle(packed)
    const path = join(tempDir(), 'b.zip')
    writeFileSync(path, packed)
    const fromFile = await loadBundle(path)
    for (const b of [fromBytes, fromFile]) {
      assert.equal(b.bundleId, b.manifest.sync.bundleId)
      assert.equal(b.sizeOnDisk, packed.length)
      assert.deepEqual([...b.files.keys()].sort(), ['/.tonk/root.automerge', '/css/site.css', '/img/logo.png', '/index.html', '/js/app.js'])
      assert.equal(b.rootDocumentBytes, b.files.get('/.tonk/root.automerge'))
    }
    assert.deepEqual(await validateBundleFile(path), { manifest: fromFile.manifest, issues: [] })
  })

  it('accepts directory entries and ignores them', async () => {
    const entries = unzipEntries(packed)
    const zip = rawZip([
      { name: 'js/', externalAttributes: unixMode(0o040755) },
      ...[...entries].map(([name, data]) => ({ name, data })),
    ])
    assert.equal((await loadBundle(zip)).files.size, 5)
  })

  describe('zip container (checked before inflating)', () => {
    it('E_ZIP_SLIP for "..", absolute, drive-letter and backslash names — nothing written', async () => {
      for (const name of ['../evil.txt', 'js/../../evil.txt', '/etc/evil', 'C:/evil.txt', 'c:evil', '..\\evil.txt', 'js\\app.js']) {
        const error = await refusedAndNothingWritten(rawZip([file('tonk.json', '{}'), file(name)]), 'E_ZIP_SLIP')
        assert.match(error.message, /zip entry .* points outside the bundle folder/)
      }
    })

    it('E_PATH_INVALID for names that stay inside but are not bundle paths', async () => {
      for (const name of ['./a.txt', 'a//b.txt', 'a\u0001b', 'ab:c', 'x/a:b']) {
        await refusedAndNothingWritten(rawZip([file(name)]), 'E_PATH_INVALID')
      }
    })

    it('E_ZIP_SYMLINK for an entry with symlink mode, E_ZIP_UNSUPPORTED for devices and fifos', async () => {
      const link = file('js/link.js', '/etc/passwd', { externalAttributes: unixMode(0o120777), method: 0 })
      const error = await refusedAndNothingWritten(rawZip([file('tonk.json', '{}'), link]), 'E_ZIP_SYMLINK')
      assert.equal(error.path, '/js/link.js')
      await refused(rawZip([file('fifo', '', { externalAttributes: unixMode(0o010644) })]), 'E_ZIP_UNSUPPORTED')
    })

    it('E_ZIP_DUPLICATE for repeated names, names equal ignoring case, and a file that is also a folder', async () => {
      await refused(rawZip([file('a.js'), file('a.js', 'y')]), 'E_ZIP_DUPLICATE')
      const ci = await refused(rawZip([file('Index.html'), file('index.html')]), 'E_ZIP_DUPLICATE')
      assert.match(ci.message, /"\/index.html" collides with "\/Index.html"/)
      await refused(rawZip([file('a'), file('a/b.js')]), 'E_ZIP_DUPLICATE')
      await refused(rawZip([file('A/b.js'), file('a')]), 'E_ZIP_DUPLICATE')
      await refused(rawZip([{ name: 'x/', externalAttributes: unixMode(0o040755) }, file('x')]), 'E_ZIP_DUPLICATE')
    })

    it('E_ZIP_TOO_MANY_FILES above 10,000 entries (or limits.maxFiles), before reading any', async () => {
      const many = rawZip(Array.from({ length: 10_001 }, (_, i) => file(`f${i}.txt`, '', { method: 0 })))
      const error = await refused(many, 'E_ZIP_TOO_MANY_FILES')
      assert.match(error.message, /10001 entries; a bundle may have at most 10000/)
      await refused(rawZip([file('a'), file('b'), file('c')]), 'E_ZIP_TOO_MANY_FILES', { maxFiles: 2 })
    })

    it('E_ZIP_TOO_LARGE for one entry above maxFileBytes and for the running total above maxTotalBytes', async () => {
      const e1 = await refused(rawZip([file('big.bin', 'x'.repeat(11))]), 'E_ZIP_TOO_LARGE', { maxFileBytes: 10 })
      assert.match(e1.message, /"\/big.bin" is 11 bytes uncompressed, more than the 10 bytes allowed per file/)
      const three = rawZip([file('a', 'x'.repeat(10)), file('b', 'x'.repeat(10)), file('c', 'x'.repeat(10))])
      const e2 = await refused(three, 'E_ZIP_TOO_LARGE', { maxTotalBytes: 25 })
      assert.equal(e2.path, '/c')
    })

    it('refuses a 200 MiB bomb before inflating: fast, little memory, nothing written', async function () {
      const zeros = deflatedZeros(200)
      const bomb = rawZip([file('tonk.json', '{}'), { name: 'bomb.bin', compressed: zeros.compressed, crc: zeros.crc, uncompressedSize: zeros.size }])
      const before = process.memoryUsage()
      const started = performance.now()
      await refusedAndNothingWritten(bomb, 'E_ZIP_TOO_LARGE')
      // Limits raised above the bomb: the ratio check still stops it before inflating.
      const error = await refusedAndNothingWritten(bomb, 'E_ZIP_RATIO', { maxFileBytes: 1024 * MiB, maxTotalBytes: 1024 * MiB })
      const elapsed = performance.now() - started
      const after = process.memoryUsage()
      const grown = after.rss - before.rss + (after.arrayBuffers - before.arrayBuffers)
      assert.ok(elapsed < 2000, `took ${elapsed} ms`)
      assert.ok(grown < 50 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`)
      assert.match(error.message, /"\/bomb.bin" inflates \d+:1 .* above the 200:1 allowed: a zip bomb/)
    })

    it('E_ZIP_RATIO for an entry above 1 MiB that compresses more than 200:1; small ones are exempt', async () => {
      const zeros = deflatedZeros(2)
      await refused(rawZip([{ name: 'z.bin', compressed: zeros.compressed, crc: zeros.crc, uncompressedSize: zeros.size }]), 'E_ZIP_RATIO')
      const small = deflatedZeros(1) // exactly 1 MiB: exempt, so it gets to the manifest check
      await refused(rawZip([{ name: 'z.bin', compressed: small.compressed, crc: small.crc, uncompressedSize: small.size }]), 'E_MANIFEST_MISSING')
    })

    it('E_ZIP_CORRUPT when an entry inflates to more (or fewer) bytes than it declares', async () => {
      const zeros = deflatedZeros(1)
      const lie = await refusedAndNothingWritten(
        rawZip([file('tonk.json', '{}'), { name: 'small.txt', compressed: zeros.compressed, crc: zeros.crc, uncompressedSize: 10 }]),
        'E_ZIP_CORRUPT',
      )
      assert.match(lie.message, /"\/small.txt": inflates to a different size than the zip declares/)
      await refused(rawZip([file('a.txt', 'hello', { uncompressedSize: 50 })]), 'E_ZIP_CORRUPT')
      await refused(rawZip([file('a.txt', 'hello', { method: 0, uncompressedSize: 4 })]), 'E_ZIP_CORRUPT')
    })

    it('E_ZIP_CORRUPT for a bad CRC, a local header that names another file, garbage and truncation', async () => {
      const crc = await refused(rawZip([file('a.txt', 'hello', { crc: 1 })]), 'E_ZIP_CORRUPT')
      assert.match(crc.message, /CRC-32/)
      await refused(rawZip([file('a.txt', 'hello', { localName: 'b.txt' })]), 'E_ZIP_CORRUPT')
      await refused(new TextEncoder().encode('not a zip at all, just text'), 'E_ZIP_CORRUPT')
      await refused(packed.subarray(0, packed.length - 10), 'E_ZIP_CORRUPT')
      await refused(new Uint8Array(), 'E_ZIP_CORRUPT')
    })

    it('E_ZIP_UNSUPPORTED for encryption and compression methods other than store and deflate', async () => {
      await refused(rawZip([file('a.txt', 'hello', { method: 12 })]), 'E_ZIP_UNSUPPORTED')
      await refused(rawZip([file('a.txt', 'hello', { flags: 0x801 })]), 'E_ZIP_UNSUPPORTED')
    })

    it('E_IO for a file that cannot be read', async () => {
      await refused(join(tempDir(), 'missing.zip'), 'E_IO')
      await refused(tempDir(), 'E_IO')
    })
  })

  describe('content', () => {
    it('E_MANIFEST_MISSING and E_MANIFEST_JSON', async () => {
      await refused(tampered((e) => e.delete('tonk.json')), 'E_MANIFEST_MISSING')
      await refused(rawZip([file('tonk.json', '{"name":')]), 'E_MANIFEST_JSON')
      await refused(rawZip([{ name: 'tonk.json', data: new Uint8Array([0x7b, 0xff, 0x7d]) }]), 'E_MANIFEST_JSON')
    })

    it('manifest rules apply to the packed kind (E_SCHEMA, E_SEMVER, E_VERSION_RANGE, E_ENTRYPOINT_MISSING, E_CONTENT_TYPE, E_ROOT_DOCUMENT)', async () => {
      await refused(tampered((_e, m) => delete m.sync.bundleId), 'E_SCHEMA')
      await refused(tampered((_e, m) => (m.version = '1.0')), 'E_SEMVER')
      await refused(tampered((_e, m) => (m.sync.minCompatibleVersion = '2.0.0')), 'E_VERSION_RANGE')
      await refused(tampered((_e, m) => (m.entrypoints = ['/nope.html'])), 'E_ENTRYPOINT_MISSING')
      await refused(tampered((_e, m) => (m.files[1].contentType = 'text/plain')), 'E_CONTENT_TYPE')
      await refused(tampered((_e, m) => (m.sync.rootDocument.documentId = rootDocumentId('x'))), 'E_ROOT_DOCUMENT')
      await refused(tampered((_e, m) => (m.manifestVersion = 7)), 'E_MANIFEST_VERSION')
    })

    it('E_FILE_MISSING, E_FILE_UNLISTED and E_FILE_LENGTH name the file', async () => {
      const missing = await refused(tampered((e) => e.delete('js/app.js')), 'E_FILE_MISSING')
      assert.equal(missing.message, '"/js/app.js" is listed in the manifest but not in the bundle')
      const unlisted = await refused(tampered((e) => e.set('extra.js', new Uint8Array(1))), 'E_FILE_UNLISTED')
      assert.equal(unlisted.path, '/extra.js')
      const length = await refused(tampered((e) => e.set('js/app.js', new Uint8Array(1024))), 'E_FILE_LENGTH')
      assert.equal(length.message, '"/js/app.js": 1024 bytes in the bundle but the manifest says 21')
      const root = await refused(tampered((e, m) => {
        e.delete('.tonk/root.automerge')
        m.files.shift()
      }), 'E_ROOT_DOCUMENT')
      assert.match(root.message, /root document "\/.tonk\/root.automerge" is not a file of the bundle/)
    })

    it('E_BUNDLE_ID_MISMATCH when one byte of one file changed, naming the bundle', async () => {
      const zip = tampered((e) => {
        const js = e.get('js/app.js')!
        js[0] ^= 1
      })
      const error = await refused(zip, 'E_BUNDLE_ID_MISMATCH')
      assert.match(error.message, /^my-world@0\.1\.0 \(bundle\) does not match its bundleId [0-9a-f]{64}: a file or a manifest field changed after packing/)
      const path = join(tempDir(), 'tampered.zip')
      writeFileSync(path, zip)
      const fromFile = await refused(path, 'E_BUNDLE_ID_MISMATCH')
      assert.ok(fromFile.message.includes(path))
    })

    it('E_BUNDLE_ID_MISMATCH when any manifest field changed', async () => {
      const edits: Array<(m: any) => void> = [
        (m) => (m.description = 'changed'),
        (m) => (m.sync.discovery.bootstrapPeers = ['endpointabcdef']),
        (m) => (m.sync.discovery.mdnsService = '_other._udp'),
        (m) => (m.version = '0.1.1'),
      ]
      for (const edit of edits) await refused(tampered((_e, m) => edit(m)), 'E_BUNDLE_ID_MISMATCH')
    })

    it('validateBundleFile collects every content issue', async () => {
      const zip = tampered((e, m) => {
        e.delete('css/site.css')
        e.set('extra.txt', new Uint8Array(2))
        m.files[1].contentType = 'text/plain'
      })
      const { manifest, issues } = await validateBundleFile(zip)
      assert.ok(manifest)
      assert.deepEqual(issues.map((i) => i.code), ['E_CONTENT_TYPE', 'E_FILE_MISSING', 'E_FILE_UNLISTED', 'E_BUNDLE_ID_MISMATCH'])
      const zipLevel = await validateBundleFile(rawZip([file('../x')]))
      assert.deepEqual(zipLevel.issues.map((i) => i.code), ['E_ZIP_SLIP'])
    })
  })
})

describe('extractBundle', () => {
  after(cleanupTemp)

  it('writes only under destDir and refuses escaping paths before writing anything', async () => {
    const bundle = await loadBundle((await packDirectory(writeSourceDir())).zip)
    const parent = tempDir()
    const dest = join(parent, 'out')
    await extractBundle(bundle, dest)
    assert.deepEqual(readdirSync(parent), ['out'])
    assert.deepEqual(listTree(dest), ['.tonk', '.tonk/root.automerge', 'css', 'css/site.css', 'img', 'img/logo.png', 'index.html', 'js', 'js/app.js', 'tonk.json'])

    for (const evil of ['/../evil', '/a/../../evil', 'evil', '/C:/evil', '/a\\..\\..\\evil']) {
      const parent2 = tempDir()
      mkdirSync(join(parent2, 'out'))
      const crafted: LoadedBundle = { ...bundle, files: new Map([['/ok.txt', new Uint8Array(1)], [evil, new Uint8Array(1)]]) }
      await assert.rejects(extractBundle(crafted, join(parent2, 'out')), (e: BundleError) => e instanceof BundleError && e.code === 'E_ZIP_SLIP')
      assert.deepEqual(listTree(parent2), ['out'], evil)
    }
  })
})
