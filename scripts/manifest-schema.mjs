// Writes docs/manifest.schema.json from the zod schema of manifest.json (server/core/manifest.ts).
//   node scripts/manifest-schema.mjs           write it (npm run schema)
//   node scripts/manifest-schema.mjs --check   exit 1 if the committed file is stale
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { register } from 'tsx/esm/api';

register();
const { manifestJsonSchemaText, MANIFEST_SCHEMA_FILE } = await import('../server/core/manifest-schema.ts');
const file = path.resolve(import.meta.dirname, '..', MANIFEST_SCHEMA_FILE);
const text = manifestJsonSchemaText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    console.error(`${MANIFEST_SCHEMA_FILE} is stale: run npm run schema`);
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  console.log(`wrote ${MANIFEST_SCHEMA_FILE}`);
}
