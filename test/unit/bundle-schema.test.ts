import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CONTENT_TYPE_TABLE,
  contentTypeFor,
  editorSchemaText,
  manifestJsonSchemaText,
  PackedManifestSchema,
  SourceManifestSchema,
} from '../../src/core/bundle'

const committed = join(import.meta.dirname, '..', '..', 'schemas', 'tonk-manifest.schema.json')

/** Every property schema, with its JSON pointer in the schema. */
function propertySchemas(schema: any, at = ''): Array<[string, any]> {
  const out: Array<[string, any]> = []
  for (const [key, sub] of Object.entries<any>(schema.properties ?? {})) {
    out.push([`${at}/${key}`, sub], ...propertySchemas(sub, `${at}/${key}`))
  }
  if (schema.items) out.push(...propertySchemas(schema.items, `${at}/items`))
  return out
}

describe('bundle manifest JSON schema', () => {
  it('schemas/tonk-manifest.schema.json is the generated source schema (run `npx tsx scripts/gen-schema.ts`)', () => {
    assert.equal(readFileSync(committed, 'utf8'), manifestJsonSchemaText(), 'stale: run npx tsx scripts/gen-schema.ts')
  })

  it('the editor copy (jsonValidation) is generated, keeps every description and validates nothing', () => {
    const path = join(import.meta.dirname, '..', '..', 'schemas', 'tonk-manifest.editor.schema.json')
    assert.equal(readFileSync(path, 'utf8'), editorSchemaText(), 'stale: run npx tsx scripts/gen-schema.ts')
    const editor = JSON.parse(readFileSync(path, 'utf8'))
    const full = JSON.parse(readFileSync(committed, 'utf8'))
    assert.deepEqual(propertySchemas(editor).map(([p]) => p), propertySchemas(full).map(([p]) => p))
    const text = JSON.stringify(editor)
    for (const keyword of ['"pattern"', '"required"', '"additionalProperties"', '"minLength"', '"type"']) assert.ok(!text.includes(keyword), keyword)
  })

  it('has $id, title and a description on every field (VS Code shows them on hover)', () => {
    const json = JSON.parse(readFileSync(committed, 'utf8'))
    assert.match(json.$id, /^urn:tonk:manifest:/)
    assert.ok(json.title)
    assert.ok(json.description)
    const fields = propertySchemas(json)
    assert.ok(fields.length > 15)
    const undocumented = fields.filter(([, s]) => typeof s.description !== 'string' || s.description === '').map(([p]) => p)
    assert.deepEqual(undocumented, [])
  })

  it('source schema leaves computed fields optional; packed requires them', () => {
    const required = (schema: { required?: string[] }) => schema.required ?? []
    assert.ok(!required(SourceManifestSchema).includes('files'))
    assert.ok(PackedManifestSchema.required?.includes('files'))
    assert.ok(!required(SourceManifestSchema.properties.sync).includes('bundleId'))
    assert.ok(PackedManifestSchema.properties.sync.required?.includes('bundleId'))
    assert.ok(PackedManifestSchema.properties.sync.required?.includes('rootDocument'))
    assert.notEqual(SourceManifestSchema.$id, PackedManifestSchema.$id)
  })
})

describe('content types', () => {
  it('derives the type from the extension, case-insensitively', () => {
    const cases: Record<string, string> = {
      '/index.html': 'text/html',
      '/a/b/app.JS': 'text/javascript',
      '/m.mjs': 'text/javascript',
      '/s.css': 'text/css',
      '/d.json': 'application/json',
      '/i.svg': 'image/svg+xml',
      '/i.png': 'image/png',
      '/i.jpg': 'image/jpeg',
      '/i.gif': 'image/gif',
      '/i.webp': 'image/webp',
      '/favicon.ico': 'image/x-icon',
      '/m.wasm': 'application/wasm',
      '/r.txt': 'text/plain',
      '/README.md': 'text/markdown',
      '/f.woff2': 'font/woff2',
      '/.tonk/root.automerge': 'application/octet-stream',
      '/data.bin': 'application/octet-stream',
      '/LICENSE': 'application/octet-stream',
      '/.env': 'application/octet-stream',
      '/dir.html/file': 'application/octet-stream',
    }
    for (const [path, type] of Object.entries(cases)) assert.equal(contentTypeFor(path), type, path)
    assert.ok(Object.keys(CONTENT_TYPE_TABLE).length >= 17)
  })
})
