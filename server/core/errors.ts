/**
 * The one error type of seqserve. Transports map `code` to an HTTP status or a gRPC status code
 * (server/http/error-response.ts, server/grpc/grpc-status.ts); the core only says what went wrong.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'payload_too_large'
  | 'resource_exhausted'
  | 'out_of_range'
  | 'failed_precondition'
  | 'unavailable'
  | 'cancelled'
  | 'deadline_exceeded'
  | 'unauthenticated'
  | 'permission_denied'
  | 'internal';

/** The HTTP status of each code: the server answers with it, and seqserve's clients read it back from in-stream error events. */
export const HTTP_STATUS_OF_CODE: Record<ErrorCode, number> = {
  invalid_argument: 400,
  out_of_range: 400,
  failed_precondition: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  payload_too_large: 413,
  resource_exhausted: 429,
  cancelled: 499,
  internal: 500,
  unavailable: 503,
  deadline_exceeded: 504,
};

export interface ErrorDetails {
  /** The request field, parameter or file the error is about (e.g. `inputs[0].shape`). */
  field?: string;
  /** Seconds after which a retry may succeed (load shedding). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class SeqserveError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SeqserveError';
    this.code = code;
    this.field = details.field;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** A request field is missing or wrong; the message names the field. */
export function invalidArgument(field: string, message: string): SeqserveError {
  return new SeqserveError('invalid_argument', `${field}: ${message}`, { field });
}

export function notFound(message: string, field?: string): SeqserveError {
  return new SeqserveError('not_found', message, field === undefined ? {} : { field });
}

/** Wraps anything thrown into a SeqserveError; unknown errors become `internal` without their stack. */
export function asSeqserveError(err: unknown): SeqserveError {
  if (err instanceof SeqserveError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SeqserveError('internal', message, { cause: err });
}
