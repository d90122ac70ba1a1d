import type { Context } from 'hono';
import { invalidArgument } from '../core/errors.ts';
import { readBody } from './read-body.ts';

/** Reads a multipart/form-data body (within the size limit); `expected` names the parts for the error message. */
export async function readForm(c: Context, limit: number, expected: string): Promise<FormData> {
  const type = c.req.header('content-type') ?? '';
  // media types are case-insensitive (RFC 9110)
  if (!type.toLowerCase().startsWith('multipart/form-data')) throw invalidArgument('body', `must be multipart/form-data with ${expected}`);
  const body = await readBody(c, limit);
  try {
    return await new Response(body as Uint8Array<ArrayBuffer>, { headers: { 'content-type': type } }).formData();
  } catch (err) {
    throw invalidArgument('body', `malformed multipart body (${(err as Error).message})`);
  }
}
