/**
 * The signal a handler's work listens to: aborted when the client goes away or when the request's
 * deadline (`--request-timeout`, set by the app's deadline middleware) passes. Its reason is a
 * SeqserveError, `cancelled` or `deadline_exceeded`, so work and metrics that end with it say which.
 *
 * One request makes at most one AbortSignal, and only when a handler asks for it: in Node 20 each
 * AbortSignal costs microseconds to create (an EventTarget whose prototype is swapped after
 * construction) and `AbortSignal.any` tens of microseconds (docs/benchmarks.md, "session 15"). So the client going
 * away is watched on the Node response's `close` (as @hono/node-server itself does) rather than
 * through the request's own signal, which @hono/node-server creates on first read.
 */
import type { ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { SeqserveError } from '../core/errors.ts';

/** A request's cancellation: a reason once aborted, and an AbortSignal made on first use. */
export class RequestCancellation {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;
  watchingClient = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

function cancellationOf(c: Context): RequestCancellation {
  let cancellation = c.get('cancellation') as RequestCancellation | undefined;
  if (!cancellation) {
    cancellation = new RequestCancellation();
    c.set('cancellation', cancellation);
  }
  return cancellation;
}

/** Calls `gone` once if the client goes away before the response is finished. */
function watchClient(c: Context, gone: () => void): void {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing || typeof outgoing.once !== 'function') {
    // no Node response (app.request in tests): the web Request's signal
    const signal = c.req.raw.signal;
    if (signal.aborted) gone();
    else signal.addEventListener('abort', gone, { once: true });
    return;
  }
  if (outgoing.destroyed) {
    if (!outgoing.writableFinished) gone();
    return;
  }
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) gone();
  });
}

export function requestSignal(c: Context): AbortSignal {
  const cancellation = cancellationOf(c);
  if (!cancellation.watchingClient) {
    cancellation.watchingClient = true;
    watchClient(c, () => cancellation.abort(new SeqserveError('cancelled', 'the client went away')));
  }
  return cancellation.signal;
}

/**
 * Answers 504 when a request's handler has not produced its response within `seconds`, and aborts
 * its work through requestSignal(). A stream counts as produced when its headers go out; streams are
 * bounded by their own limits (audio seconds, max_tokens).
 */
export function requestDeadline(seconds: number): MiddlewareHandler {
  return async (c, next) => {
    if (seconds <= 0) return next();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new SeqserveError('deadline_exceeded', `the request took longer than the server's limit of ${seconds} s`);
        reject(err);
        // the work stops once the 504 is the response: a handler that stopped at once would answer
        // in its place (its own error response, a 499, replaced the 504)
        setImmediate(() => cancellationOf(c).abort(err));
      }, seconds * 1000);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
