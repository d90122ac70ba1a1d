/**
 * One call of a task, as every transport runs it (HTTP JSON, SSE, gRPC): the one place that owns
 * admission, metrics and cancellation, so the transports only parse, format and write.
 *
 * - Admission: the model's place for a request or stream is taken when the call is opened, so a
 *   refusal (429 / RESOURCE_EXHAUSTED) comes before any response starts; it is given back however
 *   the call ends — its events run out, it fails, or the consumer returns early.
 * - Metrics: counted and timed under the model's name and the endpoint; success and failure carry
 *   the same labels and differ in `outcome` (the error code).
 * - Cancellation: the task's work sees one signal, aborted when the transport's signal is (client
 *   gone, deadline) or when the consumer stops reading early.
 */
import type { ServerContext } from '../context.ts';
import { SeqserveError } from '../core/errors.ts';
import type { WorkKind } from '../runtime/admission.ts';

export interface CallOptions {
  /** The model's name (admission and metrics). */
  model: string;
  /** The endpoint's metrics label (`chat`, `grpc_generate`, ...). */
  endpoint: string;
  /** A request answered at once, or a stream. */
  kind: WorkKind;
  /** The transport's signal: the client went away, or the deadline passed. */
  signal?: AbortSignal;
  /** The metrics' model label when it names more than the model (a KServe graph: `model.graph`). */
  label?: string;
}

/** The reason a call's signal is aborted with when its work has ended on its own (one shared error: no stack to capture per call). */
const CALL_ENDED = new SeqserveError('cancelled', 'the call ended');

/** A call's events: iterate them, or `return()` to stop the work and give the place back. */
export type TaskCall<E> = AsyncIterableIterator<E> & {
  return(): Promise<IteratorResult<E>>;
  /**
   * Waits for the first event (kept for the first `next()`), or throws what the work threw before
   * it. A stream's transport awaits it before its response starts, so a refusal that only comes once
   * the work has started (a generation engine's full waiting list, in its executor thread) is an
   * HTTP status with `Retry-After`, not an error event after a 200.
   */
  started(): Promise<void>;
};

/**
 * Opens one call of a task (see the file's comment). `run` is called at once, so a request it
 * refuses synchronously (validation) is refused before any response starts; an async generator's
 * work starts on the first read.
 */
export function openCall<E>(ctx: Pick<ServerContext, 'admission' | 'metrics'>, options: CallOptions, run: (signal: AbortSignal) => AsyncIterable<E>): TaskCall<E> {
  const leave = ctx.admission.enter(options.model, options.kind);
  const finish = ctx.metrics.begin(options.label ?? options.model, options.endpoint);
  const abort = new AbortController();
  const stop = () => abort.abort(options.signal?.reason ?? new SeqserveError('cancelled', 'the client went away'));
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  let ended = false;
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    options.signal?.removeEventListener('abort', stop);
    if (!abort.signal.aborted) abort.abort(CALL_ENDED);
    leave();
    finish(err);
  };
  let inner: AsyncIterator<E>;
  try {
    inner = run(abort.signal)[Symbol.asyncIterator]();
  } catch (err) {
    end(err);
    throw err;
  }
  let first: IteratorResult<E> | undefined;
  let starting: Promise<void> | undefined;
  const call: TaskCall<E> = {
    [Symbol.asyncIterator]: () => call,
    started() {
      starting ??= (async () => {
        first = await call.next();
        // the transport's signal fired as the first event came (a deadline answered meanwhile): no
        // response will read this call, so it ends here
        if (options.signal?.aborted) {
          await call.return();
          throw options.signal.reason;
        }
      })();
      return starting;
    },
    async next() {
      if (first) {
        const r = first;
        first = undefined;
        return r;
      }
      if (ended) return { done: true, value: undefined };
      try {
        const r = await inner.next();
        // work that stops because its signal was aborted ends as that reason says (cancelled, deadline)
        if (r.done) end(options.signal?.aborted ? options.signal.reason : undefined);
        return r;
      } catch (err) {
        // work that fails because its signal was aborted fails as the signal says (cancelled, deadline)
        const reason: unknown = options.signal?.aborted ? options.signal.reason : err;
        end(reason);
        throw reason;
      }
    },
    async return() {
      first = undefined;
      if (!ended) {
        const reason = options.signal?.reason ?? new SeqserveError('cancelled', 'the consumer stopped reading');
        abort.abort(reason);
        try {
          await inner.return?.();
        } finally {
          end(options.signal?.aborted ? reason : undefined);
        }
      }
      return { done: true, value: undefined };
    },
  };
  return call;
}

/** One call whose work is one promise (a KServe infer, a slot-filling request): the same admission, metrics and cancellation. */
export async function runCall<T>(ctx: Pick<ServerContext, 'admission' | 'metrics'>, options: CallOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const call = openCall(ctx, options, async function* (signal) {
    yield await work(signal);
  });
  return collectCall(call, onlyEvent);
}

/**
 * The one event of a call that makes one (a slot-filling result). It reads on to the events' end, so
 * a call that made its one event ends as finished, not as stopped by its consumer.
 */
export async function onlyEvent<E>(events: AsyncIterable<E>): Promise<E> {
  const it = events[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new SeqserveError('internal', 'the call produced no result');
  const rest = await it.next();
  if (!rest.done) await it.return?.();
  return first.value;
}

/** Runs a call to its end and returns what `reduce` makes of its events (a non-streaming reply). */
export async function collectCall<E, R>(call: TaskCall<E>, reduce: (events: AsyncIterable<E>) => Promise<R>): Promise<R> {
  try {
    return await reduce(call);
  } finally {
    await call.return();
  }
}
