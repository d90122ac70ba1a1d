/**
 * One request in the engine: its decoding strategy, its rows in the batch, the events its consumer
 * has not read yet, and how it ended. `jobEvents` is the async iterator the caller reads: it parks
 * nothing itself, but tells the engine when a parked request's consumer reads again, and cancels
 * the request when the caller stops reading (return()) or its AbortSignal fires.
 */
import { SeqserveError } from '../errors.ts';
import type { RowData } from './decode-batch.ts';
import type { DecodingStrategy } from './decoding-strategy.ts';
import type { GenerateRequest, GenerationEvent } from './generate-request.ts';

/** A batch row's owner: a request and the row's place in it (choice, or beam slot). */
export interface JobRow {
  job: GenerationJob;
  index: number;
}

export class GenerationJob {
  readonly events: GenerationEvent[] = [];
  /** Its rows in the batch now. */
  readonly rows: JobRow[] = [];
  /** While parked: its rows' data, to take back without an encoder run. */
  parked: { index: number; data: RowData }[] | undefined;
  queuedAt = 0;
  cancelled = false;
  ended = false;
  failed: unknown;
  wake: (() => void) | undefined;

  constructor(
    readonly req: GenerateRequest,
    readonly strategy: DecodingStrategy,
  ) {}

  get rowsWanted(): number {
    return this.strategy.rows;
  }

  push(e: GenerationEvent): void {
    this.events.push(e);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(err: unknown): void {
    this.failed = err;
    this.cancelled = true;
    this.notify();
  }

  notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

export interface JobEventHooks {
  cancel(job: GenerationJob): void;
  /** The consumer of a parked request has read an event, or waits for one. */
  reading(job: GenerationJob): void;
}

/** The events of a request, until every choice has finished (or it fails, or is cancelled). */
export function jobEvents(job: GenerationJob, hooks: JobEventHooks): AsyncIterableIterator<GenerationEvent> {
  const signal = job.req.signal;
  const onAbort = () => hooks.cancel(job);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) hooks.cancel(job);
  const iterator: AsyncIterableIterator<GenerationEvent> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next(): Promise<IteratorResult<GenerationEvent>> {
      for (;;) {
        if (job.failed !== undefined) {
          signal?.removeEventListener('abort', onAbort);
          throw job.failed;
        }
        const e = job.events.shift();
        if (e) {
          if (job.parked) hooks.reading(job);
          return { value: e, done: false };
        }
        if (job.ended || job.cancelled) {
          signal?.removeEventListener('abort', onAbort);
          if (job.cancelled && !job.ended) throw new SeqserveError('cancelled', 'the request was cancelled');
          return { value: undefined, done: true };
        }
        if (job.parked) hooks.reading(job);
        await new Promise<void>((resolve) => (job.wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<GenerationEvent>> {
      hooks.cancel(job);
      signal?.removeEventListener('abort', onAbort);
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
