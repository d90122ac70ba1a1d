import type { z } from 'zod';
import { invalidArgument } from './errors.ts';

/** `inputs[0].shape` style name of a zod issue path ("body" for the root). */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || 'body';
}

/** The field a zod issue is about: its path, and for an unknown key the key itself (not the object holding it). */
export function issueField(issue: z.core.$ZodIssue): string {
  return fieldName(issue.code === 'unrecognized_keys' && issue.keys.length ? [...issue.path, issue.keys[0]] : issue.path);
}

/** Parses JSON text against a schema; a bad body or field becomes invalid_argument naming it. */
export function parseJson<T>(text: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument('body', `malformed JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw invalidArgument(issueField(issue), issue.message);
}
