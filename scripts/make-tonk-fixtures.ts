// Writes the committed .tonk fixtures (test/fixtures/tonk/*.tonk) from their definitions in
// test/helpers/tonk-fixtures.ts. The writer is deterministic, so running this again changes nothing
// unless the definitions or the format code changed; test/unit/tonk-format.test.ts checks that.
//   npx tsx scripts/make-tonk-fixtures.ts
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { COMMITTED_FIXTURES, FIXTURE_DIR } from '../test/helpers/tonk-fixtures'

mkdirSync(FIXTURE_DIR, { recursive: true })
for (const [name, make] of Object.entries(COMMITTED_FIXTURES)) {
  const bytes = await make()
  writeFileSync(join(FIXTURE_DIR, name), bytes)
  console.log(`${name}: ${bytes.length} bytes`)
}
