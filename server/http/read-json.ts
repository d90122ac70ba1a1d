import type { Context } from 'hono';
import type { z } from 'zod';
import { parseJson } from '../core/parse-json.ts';
import { readText } from './read-body.ts';

/** Reads and validates a JSON body; errors name the offending field. */
export async function readJson<T>(c: Context, schema: z.ZodType<T>, maxBytes: number): Promise<T> {
  return parseJson(await readText(c, maxBytes), schema);
}
