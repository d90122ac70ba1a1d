/**
 * The signal a handler's work listens to: aborted when the client goes away or when the request's
 * deadline (`--request-timeout`, set by the app's deadline middleware) passes. Its reason is a
 * SeqserveError, `cancelled` or `deadline_exceeded`, so work and metrics that end with it say which
 * (@hono/node-server aborts the request's own signal with a string).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { SeqserveError } from '../core/errors.ts';

export function requestSignal(c: Context): AbortSignal {
  const deadline = c.get('deadline') as AbortSignal | undefined;
  const client = new AbortController();
  const gone = () => client.abort(new SeqserveError('cancelled', 'the client went away'));
  if (c.req.raw.signal.aborted) gone();
  else c.req.raw.signal.addEventListener('abort', gone, { once: true });
  return deadline ? AbortSignal.any([client.signal, deadline]) : client.signal;
}

/**
 * Answers 504 when a request's handler has not produced its response within `seconds`, and aborts
 * its work through requestSignal(). A stream counts as produced when its headers go out; streams are
 * bounded by their own limits (audio seconds, max_tokens).
 */
export function requestDeadline(seconds: number): MiddlewareHandler {
  return async (c, next) => {
    if (seconds <= 0) return next();
    const deadline = new AbortController();
    c.set('deadline', deadline.signal);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new SeqserveError('deadline_exceeded', `the request took longer than the server's limit of ${seconds} s`);
        reject(err);
        // the work stops once the 504 is the response: a handler that stopped at once would answer
        // in its place (its own error response, a 499, replaced the 504)
        setImmediate(() => deadline.abort(err));
      }, seconds * 1000);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
