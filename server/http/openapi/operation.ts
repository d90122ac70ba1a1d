/**
 * The pieces an OpenAPI operation is written from, shared by the server's own routes
 * (document.ts) and the routes each task contributes (server/tasks/<task>/server/openapi.ts).
 */
import type { ZodType } from 'zod';

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect), or any other piece of the document. */
export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

export interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  parameters?: Schema[];
  body?: Schema;
  /** Success (and other non-error) responses by status. */
  responses: Record<string, Schema>;
  /** Error statuses, answered in the route family's error shape; a note replaces the generic description. */
  errors: (number | [number, string])[];
  /** The field and message of the 400 example. */
  badInput?: [string, string];
}

/** A JSON request body parsed by a zod schema: documented as zod's JSON Schema of it, with per-field notes. */
export interface JsonBody {
  id: string;
  schema: ZodType;
  notes?: Record<string, string>;
}

/** What a task adds to the document: its operations, the zod schemas of its JSON bodies, and hand-written component schemas (forms, responses, events). */
export interface TaskOpenApi {
  operations: Operation[];
  jsonBodies?: JsonBody[];
  schemas?: Record<string, Schema>;
}

export const WORK_ERRORS = [400, 404, 413, 429, 500, 503, 504];
export const SSE_NOTE = 'Server-sent events: each `data:` line holds one JSON event of this schema; a failure ends the stream with an `error` event.';
/** Multipart fields are text: say how numbers and booleans are written. */
export const TEXT_FIELDS = 'Numbers and booleans are text fields ("0.5", "true") converted and then checked as in JSON.';

export const json = (schema: Schema, extra: Schema = {}): Schema => ({ 'application/json': { schema, ...extra } });
export const ok = (description: string, content: Schema, extra: Schema = {}): Schema => ({ description, content, ...extra });
export const sse = (events: Schema, description: string): Schema => ({ 'text/event-stream': { schema: { ...events, description } } });
/** A multipart/form-data body: the component schema `name` and its file parts' content types. */
export const form = (name: string, encoding: Record<string, Schema>): Schema => ({ 'multipart/form-data': { schema: ref(name), encoding } });
export const param = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });

/** JSON Schema building blocks for response shapes. */
export const str: Schema = { type: 'string' };
export const int: Schema = { type: 'integer' };
export const num: Schema = { type: 'number' };
export const bool: Schema = { type: 'boolean' };
export const arrayOf = (items: Schema): Schema => ({ type: 'array', items });
export const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema => ({
  type: 'object',
  required,
  properties,
  ...extra,
});
export const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
/** A server-sent event `{type, ...properties}`; every property is required but the optional ones. */
export const event = (type: string, properties: Record<string, Schema>, optional: string[] = []): Schema =>
  obj({ type: { const: type }, ...properties }, ['type', ...Object.keys(properties).filter((k) => !optional.includes(k))]);

/** A nullable JSON field as a form field: null is not a value a text field can have. */
export function withoutNull(schema: Schema): Schema {
  if (Array.isArray(schema.anyOf)) {
    const rest = (schema.anyOf as Schema[]).filter((s) => s.type !== 'null');
    const { anyOf: _anyOf, ...others } = schema;
    return rest.length === 1 ? { ...others, ...rest[0] } : { ...others, anyOf: rest };
  }
  if (Array.isArray(schema.type)) {
    const types = (schema.type as string[]).filter((t) => t !== 'null');
    return { ...schema, type: types.length === 1 ? types[0] : types };
  }
  return schema;
}

/** `schema` with a description added to each property named in `notes`. */
export function withNotes(schema: Schema, notes: Record<string, string> | undefined): Schema {
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (!notes || !properties) return schema;
  return { ...schema, properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, notes[k] ? { ...v, description: notes[k] } : v])) };
}
