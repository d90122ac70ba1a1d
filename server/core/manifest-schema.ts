/**
 * The JSON Schema of manifest.json, generated from the zod schema (server/core/manifest.ts) and
 * published as docs/manifest.schema.json (`npm run schema` writes it; a unit test fails when the
 * committed file is stale). Manifests point to it with `"$schema"` so editors complete and check
 * them. It adds to zod's output what zod's refinements check in code: the roles each task accepts.
 */
import { z } from 'zod';
import { Manifest, TASK_ROLES, TASKS } from './manifest.ts';

export const MANIFEST_SCHEMA_FILE = 'docs/manifest.schema.json';

export function manifestJsonSchema(): Record<string, unknown> {
  // draft-07: the draft editors support best; io "input": fields with defaults are optional
  const generated = z.toJSONSchema(Manifest, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const roles = TASKS.map((task) => ({
    if: { properties: { task: { const: task } }, required: ['task'] },
    then: { properties: { graphs: { additionalProperties: { properties: { role: { enum: [...TASK_ROLES[task]] } } } } } },
  }));
  return {
    $schema,
    title: 'seqserve model manifest (manifest.json)',
    description:
      'A model folder of a seqserve repository: its task, ONNX graphs and their roles, preprocessing, recurrent states and decoding. Generated from server/core/manifest.ts by `npm run schema`.',
    ...rest,
    allOf: roles,
  };
}

/** The file's text as committed. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}
