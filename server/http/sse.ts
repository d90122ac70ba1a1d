/**
 * Server-sent events with backpressure. Under @hono/node-server the events are written straight to
 * the Node response (a write that fills the socket buffer waits for 'drain'; a closed connection
 * aborts the producer); elsewhere (app.request() in tests, other runtimes) Hono's streamSSE is used.
 */
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

export interface SseSink {
  /** Sends one event's data; resolves when the transport can take more. */
  send(data: string): Promise<void>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/**
 * Streams what `produce` sends. If it fails, the stream ends; `onError` hears why unless the client
 * had gone already. `onDone` runs once the producer has finished, however it finished.
 */
export function sseResponse(c: Context, produce: (sink: SseSink) => Promise<void>, onError: (err: unknown) => void = () => undefined, onDone: () => void = () => undefined): Response | Promise<Response> {
  const abort = new AbortController();
  const run = (sink: SseSink) =>
    produce(sink)
      .catch((err: unknown) => {
        if (!abort.signal.aborted) onError(err);
      })
      .finally(onDone);
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing) {
    return streamSSE(c, async (sse) => {
      sse.onAbort(() => abort.abort());
      await run({ send: (data) => sse.writeSSE({ data }), signal: abort.signal });
    });
  }
  const requestId = c.get('requestId') as string | undefined;
  outgoing.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...(requestId ? { 'x-request-id': requestId } : {}),
  });
  outgoing.flushHeaders();
  outgoing.on('close', () => {
    if (!outgoing.writableFinished) abort.abort();
  });
  const send = (data: string) =>
    new Promise<void>((resolve) => {
      if (abort.signal.aborted || outgoing.destroyed) return resolve();
      if (outgoing.write(`data: ${data}\n\n`)) resolve();
      else {
        const done = () => {
          outgoing.off('drain', done);
          outgoing.off('close', done);
          resolve();
        };
        outgoing.on('drain', done);
        outgoing.on('close', done);
      }
    });
  void run({ send, signal: abort.signal }).finally(() => {
    if (!outgoing.destroyed) outgoing.end();
  });
  return RESPONSE_ALREADY_SENT;
}
