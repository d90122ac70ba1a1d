import type { Context } from 'hono';
import type { z } from 'zod';
import { invalidArgument } from '../core/errors.ts';
import { readText } from './read-body.ts';

/** Reads and validates a JSON body; errors name the offending field. */
export async function readJson<T>(c: Context, schema: z.ZodType<T>, maxBytes: number): Promise<T> {
  const text = await readText(c, maxBytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument('body', `malformed JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || 'body';
  throw invalidArgument(field, issue.message);
}
