import { PassThrough } from 'node:stream';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { readClientStream } from './client-stream.ts';

/** A stand-in for a grpc-js call's request side: an object-mode stream the test writes "client messages" into. */
function fakeCall() {
  const stream = new PassThrough({ objectMode: true });
  return { stream, call: stream as unknown as ServerDuplexStream<number, unknown> };
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('readClientStream', () => {
  it('yields the messages in order and ends when the client half-closes; the call stays paused while the consumer works', async () => {
    const { stream, call } = fakeCall();
    for (let i = 0; i < 50; i++) stream.write(i);
    stream.end();
    const seen: number[] = [];
    for await (const n of readClientStream(call, new AbortController().signal)) {
      seen.push(n);
      await tick(); // a slow consumer: the rest waits in the call (grpc-js stops reading it), not in the iterator
      if (n < 49) expect({ paused: stream.isPaused(), buffered: stream.readableLength > 0 }).toEqual({ paused: true, buffered: true });
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("throws the signal's reason once the call is cancelled, even with messages waiting, and only once", async () => {
    const { stream, call } = fakeCall();
    const abort = new AbortController();
    const requests = readClientStream(call, abort.signal);
    stream.write(1);
    stream.write(2);
    expect(await requests.next()).toEqual({ value: 1, done: false });
    const reason = new SeqserveError('cancelled', 'the client cancelled the call');
    abort.abort(reason);
    await expect(requests.next()).rejects.toBe(reason);
    expect(await requests.next()).toEqual({ value: undefined, done: true });
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('a signal aborted before reading starts stops the first read', async () => {
    const { call } = fakeCall();
    const abort = new AbortController();
    abort.abort(new SeqserveError('deadline_exceeded', 'the call outlived its deadline'));
    await expect(readClientStream(call, abort.signal).next()).rejects.toThrow(/deadline/);
  });

  it('throws an error the call emits', async () => {
    const { stream, call } = fakeCall();
    const requests = readClientStream(call, new AbortController().signal);
    const pending = requests.next();
    stream.emit('error', new Error('boom'));
    await expect(pending).rejects.toThrow('boom');
  });

  it('leaving the loop early stops listening and lets the rest of the stream flow away', async () => {
    const { stream, call } = fakeCall();
    for (let i = 0; i < 20; i++) stream.write(i);
    for await (const n of readClientStream(call, new AbortController().signal)) if (n === 2) break;
    expect(stream.listenerCount('data')).toBe(0);
    expect(stream.listenerCount('end')).toBe(0);
    await tick();
    expect(stream.isPaused()).toBe(false);
    expect(stream.readableLength).toBe(0); // read and dropped
  });
});
