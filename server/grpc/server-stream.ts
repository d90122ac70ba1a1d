import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ServerContext } from '../context.ts';
import { grpcError } from './grpc-status.ts';

/** Writes a message, resolving when the stream can take more (backpressure). */
export type StreamWrite = (message: object) => Promise<void>;

/**
 * Runs a server-streaming call: `produce` writes messages and watches `signal` (aborted when the
 * client cancels); the call ends when it returns, or ends with the error's gRPC status.
 */
export function serveStream<Req>(call: ServerWritableStream<Req, unknown>, ctx: ServerContext, produce: (write: StreamWrite, signal: AbortSignal) => Promise<void>): void {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  const write: StreamWrite = (msg) => new Promise<void>((resolve) => (call.write(msg) ? resolve() : call.once('drain', () => resolve())));
  produce(write, abort.signal).then(
    () => {
      if (!call.cancelled) call.end();
    },
    (err: unknown) => {
      if (!call.cancelled) call.emit('error', grpcError(err, ctx.log));
    },
  );
}
