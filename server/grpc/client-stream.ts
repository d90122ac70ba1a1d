/**
 * The request side of a client-streaming or bidirectional gRPC call as an async iterator, with
 * backpressure: the call is paused while the consumer works on a message and resumed when it asks
 * for the next one, so grpc-js stops reading and HTTP/2 flow control holds a fast client back
 * instead of queueing its messages in the server.
 */
import type { ServerDuplexStream, ServerReadableStream } from '@grpc/grpc-js';

type ClientStreamCall<T> = ServerReadableStream<T, unknown> | ServerDuplexStream<T, unknown>;

/**
 * Reads `call`'s messages in order. The iterator ends when the client half-closes; it throws the
 * signal's reason when the call is cancelled or its deadline passes (see callSignal), or the error
 * the call emits. Each of these is taken once, the first that happens; leaving the loop early
 * (break, throw) stops reading and lets grpc-js drop whatever the client still sends.
 */
export function readClientStream<T>(call: ClientStreamCall<T>, signal: AbortSignal): AsyncIterableIterator<T> {
  const queue: T[] = [];
  let outcome: { error: unknown } | 'ended' | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const onData = (message: T) => {
    queue.push(message);
    call.pause(); // until the consumer asks for the next message
    notify();
  };
  const settle = (result: NonNullable<typeof outcome>) => {
    if (outcome) return;
    outcome = result;
    detach();
    notify();
  };
  const onEnd = () => settle('ended');
  const onError = (error: unknown) => settle({ error });
  const onAbort = () => settle({ error: signal.reason });
  const detach = () => {
    call.removeListener('data', onData);
    call.removeListener('end', onEnd);
    call.removeListener('error', onError);
    signal.removeEventListener('abort', onAbort);
  };
  call.on('data', onData);
  call.on('end', onEnd);
  call.on('error', onError);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort);

  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        // a cancelled call stops at once, even with messages still queued
        if (outcome && outcome !== 'ended') {
          const { error } = outcome;
          outcome = 'ended';
          queue.length = 0;
          throw error;
        }
        if (queue.length > 0) return { value: queue.shift()!, done: false };
        if (outcome === 'ended') return { value: undefined, done: true };
        const waiting = new Promise<void>((resolve) => (wake = resolve));
        call.resume();
        await waiting;
      }
    },
    async return(): Promise<IteratorResult<T>> {
      if (!outcome) {
        outcome = 'ended';
        detach();
        call.resume(); // flowing with no listener: the rest is read and dropped, nothing waits on it
      }
      queue.length = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
