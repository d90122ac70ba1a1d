import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { asSeqserveError, HTTP_STATUS_OF_CODE, type ErrorCode, type SeqserveError } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';

const HTTP_STATUS = HTTP_STATUS_OF_CODE as Record<ErrorCode, ContentfulStatusCode>;

export function httpStatus(code: ErrorCode): ContentfulStatusCode {
  return HTTP_STATUS[code];
}

/**
 * Path prefixes whose errors take OpenAI's shape: the server's `/v1/models`; the server adds each
 * task's own (its endpoints' `openAiErrorPaths`, server/http/openai-error-paths.ts). Passed in, not
 * imported: task routes import this module, and the task list imports them.
 */
export const SERVER_OPENAI_PATHS: readonly string[] = ['/v1/models'];

const isOpenAiPath = (path: string, prefixes: readonly string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));

function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** OpenAI's error object for a SeqserveError: `{message, type, param, code}`. */
export function openAiError(e: SeqserveError): { message: string; type: string; param: string | null; code: string } {
  const message = e.code === 'internal' ? `internal error: ${e.message}` : e.message;
  return { message, type: openAiType(HTTP_STATUS[e.code]), param: e.field ?? null, code: e.code };
}

/** The error body for a SeqserveError: KServe's `{"error": "..."}`, or OpenAI's `{"error": {message, type, param, code}}`. */
export function errorBody(path: string, e: SeqserveError, openAiPaths: readonly string[] = SERVER_OPENAI_PATHS): object {
  const error = openAiError(e);
  return isOpenAiPath(path, openAiPaths) ? { error } : { error: error.message };
}

/** The one HTTP error response; internal errors are logged, never sent with a stack. */
export function errorResponse(c: Context, err: unknown, log: Logger, openAiPaths: readonly string[] = SERVER_OPENAI_PATHS): Response {
  const e = asSeqserveError(err);
  if (e.code === 'internal') log.error({ err, reqId: c.get('requestId') }, 'internal error');
  const body = errorBody(c.req.path, e, openAiPaths);
  if (e.retryAfterSeconds !== undefined) c.header('Retry-After', String(e.retryAfterSeconds));
  return c.json(body, HTTP_STATUS[e.code]);
}
