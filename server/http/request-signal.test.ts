import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import type { SeqserveError } from '../core/errors.ts';
import { requestDeadline, requestSignal } from './request-signal.ts';

/** A real Node HTTP server (the path the server runs), whose one route reports its request signal. */
function start(seconds: number, handle: (signal: AbortSignal) => Promise<Response>): Promise<{ url: string; server: ServerType }> {
  const app = new Hono();
  app.use(requestDeadline(seconds));
  app.onError((err) => new Response(err.message, { status: 504 }));
  app.get('/work', (c) => handle(requestSignal(c)));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve({ url: `http://127.0.0.1:${info.port}/work`, server }));
  });
}

const settled = (signal: AbortSignal) => new Promise<SeqserveError>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason as SeqserveError), { once: true }));

/**
 * A server whose route answers only once its signal is aborted: `arrived()` waits until a request is in
 * the handler, `reason()` then for its signal's abort reason.
 */
async function startWaiting(seconds: number): Promise<{ url: string; server: ServerType; arrived: () => Promise<void>; reason: () => Promise<SeqserveError> }> {
  let seen: Promise<SeqserveError> | undefined;
  const started = await start(seconds, (signal) => {
    seen = settled(signal);
    return seen.then(() => new Response('late'));
  });
  const arrived = async () => {
    while (!seen) await new Promise((r) => setTimeout(r, 5));
  };
  return { ...started, arrived, reason: () => arrived().then(() => seen!) };
}

let server: ServerType | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe('requestSignal on a Node server', () => {
  it('is aborted as cancelled when the client goes away mid-request', async () => {
    const started = await startWaiting(30);
    server = started.server;
    const client = new AbortController();
    const done = fetch(started.url, { signal: client.signal }).catch(() => undefined);
    await started.arrived();
    client.abort();
    await done;
    expect((await started.reason()).code).toBe('cancelled');
  });

  it('is not aborted when the response finishes normally', async () => {
    let kept: AbortSignal | undefined;
    const started = await start(30, async (signal) => {
      kept = signal;
      return new Response('ok');
    });
    server = started.server;
    expect(await (await fetch(started.url)).text()).toBe('ok');
    await new Promise((r) => setTimeout(r, 20));
    expect(kept?.aborted).toBe(false);
  });

  it('is aborted as deadline_exceeded when the deadline passes', async () => {
    const started = await startWaiting(0.05);
    server = started.server;
    await fetch(started.url).catch(() => undefined);
    expect((await started.reason()).code).toBe('deadline_exceeded');
  });
});
