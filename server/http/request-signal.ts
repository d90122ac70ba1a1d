/**
 * The signal a handler's work listens to: aborted when the client goes away or when the request's
 * deadline (`--request-timeout`, set by the app's deadline middleware) passes.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { SeqserveError } from '../core/errors.ts';

export function requestSignal(c: Context): AbortSignal {
  const deadline = c.get('deadline') as AbortSignal | undefined;
  return deadline ? AbortSignal.any([c.req.raw.signal, deadline]) : c.req.raw.signal;
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
        deadline.abort();
        reject(new SeqserveError('deadline_exceeded', `the request took longer than the server's limit of ${seconds} s`));
      }, seconds * 1000);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
