import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SCHEMA_FILE, manifestJsonSchema, manifestJsonSchemaText } from './manifest-schema.ts';

describe('docs/manifest.schema.json', () => {
  it('is the JSON Schema generated from the zod schema (npm run schema rewrites it)', () => {
    const committed = readFileSync(path.resolve(import.meta.dirname, '..', '..', MANIFEST_SCHEMA_FILE), 'utf8');
    expect(committed, `${MANIFEST_SCHEMA_FILE} is stale: run npm run schema`).toBe(manifestJsonSchemaText());
  });

  it('describes strict objects, optional defaults and the roles of each task', () => {
    const schema = manifestJsonSchema() as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean; allOf: { if: unknown; then: unknown }[] };
    expect(schema.required.sort()).toEqual(['graphs', 'name', 'task']); // version and description have defaults
    expect(Object.keys(schema.properties)).toContain('$schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.allOf).toContainEqual({
      if: { properties: { task: { const: 'chat' } }, required: ['task'] },
      then: { properties: { graphs: { additionalProperties: { properties: { role: { enum: ['encoder', 'decoder_step'] } } } } } },
    });
  });
});
