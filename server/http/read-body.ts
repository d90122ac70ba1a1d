import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { SeqserveError } from '../core/errors.ts';

function tooLarge(limit: number): SeqserveError {
  return new SeqserveError('payload_too_large', `body: larger than the limit of ${limit} bytes`, { field: 'body' });
}

/**
 * Reads a request body up to `limit` bytes. On a real socket it reads the Node request stream
 * directly (creating a web Request/ReadableStream costs more than a small inference); without one
 * (app.request in tests) it falls back to the web Request.
 */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) {
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.byteLength > limit) throw tooLarge(limit);
    return body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of incoming as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > limit) {
        incoming.resume(); // drain the rest so the connection stays usable
        throw tooLarge(limit);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SeqserveError) throw err;
    // the connection ended before the body did (the client went, or sent framing the parser refused): no one is left to answer
    throw new SeqserveError('cancelled', `body: the request ended before its body (${(err as Error).message})`, { field: 'body', cause: err });
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

export async function readText(c: Context, limit: number): Promise<string> {
  return new TextDecoder().decode(await readBody(c, limit));
}
