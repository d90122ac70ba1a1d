/**
 * The one adapter from a producer of events to a server-sent-events response. The response is an
 * ordinary Hono response with a streaming body, so every middleware (CORS, request id, ...) sets
 * its headers on streams as on JSON replies. Backpressure: the body is a pull stream, so a `send`
 * that fills its small queue waits until the transport reads on (@hono/node-server reads again
 * only after the socket drains). A client that goes away cancels the body, which aborts `signal`.
 *
 * Errors inside a stream have one shape on every seqserve SSE endpoint, OpenAI-compatible or not:
 * `data: {"type": "error", "error": {"message", "type", "param", "code"}}` as the last event. The
 * `openai` SDK raises it as an APIError (it checks `data.error`), and seqserve's own clients read
 * `type: "error"`. The producer only throws; this adapter sends the event.
 */
import type { Context } from 'hono';
import { asSeqserveError } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { openAiError } from './error-response.ts';

export interface SseSink {
  /** Sends one event's data; resolves when the transport can take more. */
  send(data: string): Promise<void>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

export interface SseOptions {
  /** Logs internal errors (others are the client's and go to the client only). */
  log: Logger;
  /** Runs once the producer has finished, however it finished. */
  onDone?: () => void;
}

/** Events queued ahead of the transport before `send` waits. */
const QUEUED_EVENTS = 8;

/** The data of the error event for `err`, in seqserve's one in-stream error shape. */
export function streamErrorData(err: unknown): string {
  return JSON.stringify({ type: 'error', error: openAiError(asSeqserveError(err)) });
}

/** Streams what `produce` sends as server-sent events; a failure becomes the error event. */
export function sseResponse(c: Context, produce: (sink: SseSink) => Promise<void>, options: SseOptions): Response {
  const abort = new AbortController();
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | undefined;
  const resume = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start: (ctrl) => {
        controller = ctrl;
      },
      pull: resume,
      cancel: () => {
        abort.abort();
        resume();
      },
    },
    new CountQueuingStrategy({ highWaterMark: QUEUED_EVENTS }),
  );
  const write = (data: string) => controller.enqueue(encoder.encode(`data: ${data}\n\n`));
  const sink: SseSink = {
    signal: abort.signal,
    send: async (data) => {
      if (abort.signal.aborted) return;
      write(data);
      if ((controller.desiredSize ?? 0) <= 0) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
  const requestId = c.get('requestId') as string | undefined;
  void produce(sink)
    .catch((err: unknown) => {
      if (abort.signal.aborted) return;
      const e = asSeqserveError(err);
      if (e.code === 'internal') options.log.error({ err, reqId: requestId }, 'stream failed');
      write(streamErrorData(e));
    })
    .finally(() => {
      options.onDone?.();
      if (!abort.signal.aborted) controller.close();
    });
  c.header('content-type', 'text/event-stream; charset=utf-8');
  c.header('cache-control', 'no-cache');
  return c.body(body, 200);
}
