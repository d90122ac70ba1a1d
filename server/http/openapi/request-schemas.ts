/**
 * The JSON request bodies of the OpenAPI document: zod's own JSON Schema of the schemas the handlers
 * parse with, the server's (KServe's infer request) and each task's, in one registry so references
 * between them resolve. Multipart forms, which handlers read field by field, are written by their
 * tasks from the same constants and schemas those readers check against.
 */
import { z } from 'zod';
import { RestInferRequest } from '../../kserve/rest-codec.ts';
import { GenerateRequest } from '../routes/kserve-generate.ts';
import { type JsonBody, type Schema, withNotes } from './operation.ts';

const SERVER_BODIES: JsonBody[] = [
  {
    id: 'InferenceRequest',
    schema: RestInferRequest,
    notes: {
      parameters:
        '`binary_data_output: true` asks for every output in the binary tensor extension; `sequence_id` (positive integer or string), `sequence_start`, `sequence_end`: a step of a sequence whose state the server holds (graphs with states)',
    },
  },
  {
    id: 'GenerateRequest',
    schema: GenerateRequest,
    notes: {
      text_input: 'the prompt (chat: one user message)',
      parameters: 'decoding parameters under their OpenAI names: max_tokens, temperature, top_p, top_k, seed, stop, ...',
    },
  },
];

/** The JSON request bodies, by component name. */
export function jsonRequestSchemas(taskBodies: JsonBody[]): Record<string, Schema> {
  const bodies = [...SERVER_BODIES, ...taskBodies];
  const registry = z.registry<{ id: string }>();
  for (const b of bodies) registry.add(b.schema, { id: b.id });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', uri: (id) => `#/components/schemas/${id}` });
  const notes = new Map(bodies.map((b) => [b.id, b.notes]));
  // each schema comes with its own $schema and an $id that only repeats where it sits in the document
  return Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => {
      const { $schema: _dialect, $id: _id, ...schema } = s as Schema;
      return [id, withNotes(schema, notes.get(id))];
    }),
  );
}
