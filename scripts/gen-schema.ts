// Writes schemas/tonk-manifest.schema.json from the TypeBox source manifest schema, and the editor's
// copy without validation keywords (schemas/tonk-manifest.editor.schema.json, see editorSchemaText).
// Run: npx tsx scripts/gen-schema.ts  (test/unit/bundle-schema.test.ts fails while the file is stale)
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { editorSchemaText, manifestJsonSchemaText } from '../src/core/bundle/manifest'

const target = join(import.meta.dirname, '..', 'schemas', 'tonk-manifest.schema.json')
writeFileSync(target, manifestJsonSchemaText())
console.log(`wrote ${target}`)
const editor = join(import.meta.dirname, '..', 'schemas', 'tonk-manifest.editor.schema.json')
writeFileSync(editor, editorSchemaText())
console.log(`wrote ${editor}`)
