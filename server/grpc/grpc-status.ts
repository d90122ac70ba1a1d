import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { asSeqserveError, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';

const GRPC_STATUS: Record<ErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  payload_too_large: status.RESOURCE_EXHAUSTED,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  out_of_range: status.OUT_OF_RANGE,
  failed_precondition: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  cancelled: status.CANCELLED,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
  internal: status.INTERNAL,
};

/** The one gRPC error mapping: a SeqserveError (or anything thrown) as a gRPC status. */
export function grpcError(err: unknown, log: Logger): Partial<ServiceError> {
  const e = asSeqserveError(err);
  if (e.code === 'internal') log.error({ err }, 'internal error');
  const metadata = new Metadata();
  if (e.retryAfterSeconds !== undefined) metadata.set('retry-after', String(e.retryAfterSeconds));
  return { code: GRPC_STATUS[e.code], details: shortened(e.message), metadata };
}

/** Longest status message sent: the message travels in an HTTP/2 trailer, and one that echoes a huge input (a 100,000-character model name) never reached the client. */
const MAX_DETAILS = 1024;

/** Lone UTF-16 surrogates: grpc-js percent-encodes the message with encodeURI, which throws on them (an uncaught exception that ended the process). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function shortened(message: string): string {
  // cut by characters, never inside a surrogate pair, then replace any lone surrogate the client sent
  const cut = message.length <= MAX_DETAILS ? message : `${Array.from(message.slice(0, MAX_DETAILS)).slice(0, -1).join('')}…`;
  return cut.replace(LONE_SURROGATE, '\uFFFD');
}
