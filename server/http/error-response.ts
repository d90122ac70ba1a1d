import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { asSeqserveError, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';

const HTTP_STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_argument: 400,
  out_of_range: 400,
  failed_precondition: 400,
  unauthenticated: 401,
  not_found: 404,
  payload_too_large: 413,
  resource_exhausted: 429,
  cancelled: 499 as ContentfulStatusCode,
  internal: 500,
  unavailable: 503,
  deadline_exceeded: 504,
};

export function httpStatus(code: ErrorCode): ContentfulStatusCode {
  return HTTP_STATUS[code];
}

/** The one HTTP error body: `{"error": "..."}`; internal errors are logged, never sent with a stack. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  const e = asSeqserveError(err);
  if (e.code === 'internal') log.error({ err, reqId: c.get('requestId') }, 'internal error');
  const body = { error: e.code === 'internal' ? `internal error: ${e.message}` : e.message };
  if (e.retryAfterSeconds !== undefined) c.header('Retry-After', String(e.retryAfterSeconds));
  return c.json(body, HTTP_STATUS[e.code]);
}
