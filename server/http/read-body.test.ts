import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { readBody } from './read-body.ts';

/** A hono Context as @hono/node-server gives one: the Node request stream in env.incoming. */
const context = (incoming: Readable, contentLength?: string) => ({ req: { header: () => contentLength }, env: { incoming } }) as unknown as Context;

describe('readBody', () => {
  it('reads the Node request stream; over the limit is payload_too_large', async () => {
    expect([...(await readBody(context(Readable.from([Buffer.from('ab'), Buffer.from('c')])), 10))]).toEqual([97, 98, 99]);
    await expect(readBody(context(Readable.from([Buffer.alloc(6), Buffer.alloc(6)])), 10)).rejects.toMatchObject({ code: 'payload_too_large', field: 'body' });
    await expect(readBody(context(Readable.from([]), '11'), 10)).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('a connection that ends before the body is a cancelled request, not an internal error', async () => {
    const cut = new Readable({ read() {} });
    cut.push(Buffer.from('{"inp'));
    setTimeout(() => cut.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 5);
    await expect(readBody(context(cut), 100)).rejects.toMatchObject({ code: 'cancelled', field: 'body', message: expect.stringMatching(/ended before its body/) });
  });
});
