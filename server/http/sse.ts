/**
 * The one adapter from a task call's events to a server-sent-events response. The response is an
 * ordinary Hono response with a streaming body, so every middleware (CORS, request id, ...) sets
 * its headers on streams as on JSON replies. Backpressure: the body is a pull stream, so the next
 * event is asked for only when the transport has read the last (@hono/node-server reads again only
 * after the socket drains). A client that goes away cancels the body, which stops the events.
 *
 * Errors inside a stream have one shape on every seqserve SSE endpoint, OpenAI-compatible or not:
 * `data: {"type": "error", "error": {"message", "type", "param", "code"}}` as the last event. The
 * `openai` SDK raises it as an APIError (it checks `data.error`), and seqserve's own clients read
 * `type: "error"`. The events only throw; this adapter sends the event.
 */
import type { Context } from 'hono';
import type { StreamEnder } from '../context.ts';
import { asSeqserveError, type SeqserveError } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { openAiError } from './error-response.ts';

export interface SseOptions {
  /** Logs internal errors (others are the client's and go to the client only). */
  log: Logger;
  /** Runs once when the stream ends, however it ends (the call's `return`: stops the work, gives its place back). */
  close?: () => unknown;
  /**
   * A client that takes no event for this long (its socket full: it stopped reading) ends the stream
   * and its work, so a stalled reader does not hold its model's place and its buffered output for
   * ever (default 60 s). A stream waiting for its next event is not stalled.
   */
  stallMs?: number;
  /** Where the stream registers while open, so shutdown can end it with an error event (ServerContext.openStreams). */
  streams?: Set<StreamEnder>;
}

/** How long a stream may wait for its client to take the last event before it is ended. */
export const SSE_STALL_MS = 60_000;

/** The data of the error event for `err`, in seqserve's one in-stream error shape. */
export function streamErrorData(err: unknown): string {
  return JSON.stringify({ type: 'error', error: openAiError(asSeqserveError(err)) });
}

/** Streams `events` (each one event's data) as server-sent events; a failure becomes the error event. */
export function sseResponse(c: Context, events: AsyncIterable<string>, options: SseOptions): Response {
  const encoder = new TextEncoder();
  const iterator = events[Symbol.asyncIterator]();
  const requestId = c.get('requestId') as string | undefined;
  let closed = false;
  let ender: StreamEnder | undefined;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (ender) options.streams?.delete(ender);
    await options.close?.();
  };
  /** Ends the work from outside a pull (a stalled client, shutdown): the place is given back, the events stop. */
  const stop = () =>
    void close()
      .then(() => iterator.return?.())
      .catch((err: unknown) => options.log.warn({ err, reqId: requestId }, 'stream close failed'));
  let stall: ReturnType<typeof setTimeout> | undefined;
  const stalled = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    options.log.info({ reqId: requestId }, 'stream ended: the client took no event for too long');
    // on a Node server, the response goes with what its socket buffered (the server then cancels the
    // body); elsewhere (app.request) the body fails
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    if (outgoing) outgoing.destroy();
    else controller.error(new Error('the client stopped reading'));
    stop();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start: (controller) => {
        if (!options.streams) return;
        // shutdown: the error event is the stream's last (the work is stopped by close)
        ender = (err: SeqserveError) => {
          if (closed) return;
          clearTimeout(stall);
          controller.enqueue(encoder.encode(`data: ${streamErrorData(err)}\n\n`));
          controller.close();
          stop();
        };
        options.streams.add(ender);
      },
      pull: async (controller) => {
        clearTimeout(stall); // the client took the last event
        try {
          const r = await iterator.next();
          // the client left (cancel) while this event was on its way: nothing more to write
          if (closed) return;
          if (r.done) {
            controller.close();
            await close();
          } else {
            controller.enqueue(encoder.encode(`data: ${r.value}\n\n`));
            stall = setTimeout(stalled, options.stallMs ?? SSE_STALL_MS, controller);
            stall.unref?.();
          }
        } catch (err) {
          if (closed) return; // ended by cancel: the client is gone and the error is that
          const e = asSeqserveError(err);
          if (e.code === 'internal') options.log.error({ err, reqId: requestId }, 'stream failed');
          controller.enqueue(encoder.encode(`data: ${streamErrorData(e)}\n\n`));
          controller.close();
          await close();
        }
      },
      cancel: async () => {
        clearTimeout(stall);
        // stop the call first: the events' generator may be waiting for its next event
        const closing = close();
        try {
          await iterator.return?.();
        } finally {
          await closing;
        }
      },
    },
    { highWaterMark: 0 },
  );
  c.header('content-type', 'text/event-stream; charset=utf-8');
  c.header('cache-control', 'no-cache');
  return c.body(body, 200);
}
