import type { ServerDuplexStream, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { ServerContext } from '../context.ts';
import { SeqserveError } from '../core/errors.ts';
import { grpcError } from './grpc-status.ts';

/** Writes a message, resolving when the stream can take more (backpressure). */
export type StreamWrite = (message: object) => Promise<void>;

/** What every kind of server call has: unary, server-streaming, client-streaming, bidirectional. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'cancelled' | 'getDeadline'> & { once(event: 'cancelled', listener: () => void): unknown };
type WritableCall<Req> = ServerWritableStream<Req, unknown> | ServerDuplexStream<Req, unknown>;

/**
 * A call cancelled this close to its deadline counts as past it: the client's deadline timer starts
 * before ours (ours starts when the call's headers are read, later by the transit time and by any
 * synchronous ONNX Runtime run holding the event loop), so the client usually cancels first.
 */
const DEADLINE_SLACK_MS = 1000;

/**
 * Aborted when the client cancels the call or its deadline passes (grpc-js reports both as
 * `cancelled`), with a SeqserveError saying which as the reason: work that watches it stops, and
 * is counted as `cancelled` or `deadline_exceeded`.
 */
export function callSignal(call: AnyCall): AbortSignal {
  const abort = new AbortController();
  const cancelled = () => {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    const late = Number.isFinite(at) && Date.now() >= at - DEADLINE_SLACK_MS;
    abort.abort(late ? new SeqserveError('deadline_exceeded', 'the call outlived its deadline') : new SeqserveError('cancelled', 'the client cancelled the call'));
  };
  if (call.cancelled) cancelled();
  else call.once('cancelled', cancelled);
  return abort.signal;
}

/**
 * Writes to a call: resolves at once while grpc-js's write buffer has room, otherwise when it
 * drains (backpressure); rejects with the signal's reason once the call is cancelled (grpc-js
 * drops writes to a cancelled call and never drains it again).
 */
export function callWriter(call: WritableCall<unknown>, signal: AbortSignal): StreamWrite {
  return (message) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      if (call.write(message)) return resolve();
      const drained = () => {
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        call.removeListener('drain', drained);
        reject(signal.reason as Error);
      };
      call.once('drain', drained);
      signal.addEventListener('abort', aborted, { once: true });
    });
}

/**
 * Runs a server-streaming or bidirectional call: `produce` writes messages and watches `signal`
 * (aborted when the client cancels or the deadline passes; writes then reject); the call ends when
 * it returns, or ends with the error's gRPC status.
 */
export function serveStream<Req>(call: WritableCall<Req>, ctx: ServerContext, produce: (write: StreamWrite, signal: AbortSignal) => Promise<void>): void {
  const signal = callSignal(call);
  produce(callWriter(call, signal), signal).then(
    () => {
      if (!call.cancelled) call.end();
    },
    (err: unknown) => {
      if (!call.cancelled) call.emit('error', grpcError(err, ctx.log));
    },
  );
}
