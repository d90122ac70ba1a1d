/**
 * Which requests join, leave and park between decoder iterations (vLLM's scheduler), without a
 * model: the waiting list; when to start an encoder run for newcomers (an encoder run costs about as
 * much as a decoder step of the whole batch, and little more for several sources than for one, so
 * under load newcomers are encoded together); how many rows they may take; and when a request whose
 * consumer is not reading leaves the batch (parking) and comes back.
 */
import { SeqserveError } from '../errors.ts';

export interface SchedulerOptions {
  /** Most sequences decoded together; more wait for a free row. */
  maxRows: number;
  /** Most requests waiting to start; more are refused (RESOURCE_EXHAUSTED). */
  maxWaiting: number;
  /** Events buffered per request before it is parked out of the batch (default 64); it comes back under half. */
  highWater?: number;
  /**
   * Most decoder iterations a new request waits for others to share its encoder run while the
   * batch is busy (default 4): newcomers are encoded when `active / 8` of them wait, or when the first
   * has waited this long. With fewer than 8 active sequences a newcomer is encoded at once.
   */
  admitWait?: number;
}

/** What the scheduler knows of a request. */
export interface Schedulable {
  /** Rows it takes in the batch when it starts (choices, or beams). */
  readonly rowsWanted: number;
  /** The rows it held when it was parked, while it is parked (it rejoins without an encoder run). */
  readonly parked: readonly unknown[] | undefined;
  /** The iteration at which it started waiting. */
  queuedAt: number;
}

export interface Admission<J> {
  /** Parked requests that take their rows back now. */
  rejoin: J[];
  /** New requests for one encoder run; their rows stay reserved until `encoderRunEnded(rows)`. */
  encode: J[];
  rows: number;
}

export class GenerationScheduler<J extends Schedulable> {
  private waiting: J[] = [];
  private encoderRuns = 0;
  private reservedRows = 0;
  private iterations = 0;
  private readonly highWater: number;

  constructor(private readonly options: SchedulerOptions) {
    this.highWater = options.highWater ?? 64;
  }

  get waitingRequests(): number {
    return this.waiting.length;
  }

  /** Whether an encoder run is in flight. */
  get encoding(): boolean {
    return this.encoderRuns > 0;
  }

  /** Decoder iterations so far. */
  get iteration(): number {
    return this.iterations;
  }

  startIteration(): void {
    this.iterations++;
  }

  /** Queues a new request, or refuses it when the waiting list is full. */
  enqueue(job: J): void {
    if (this.waiting.length >= this.options.maxWaiting)
      throw new SeqserveError('resource_exhausted', `the model's waiting list is full: ${this.waiting.length} prompts wait (each prompt of a request waits on its own)`, {
        retryAfterSeconds: 1,
      });
    job.queuedAt = this.iterations;
    this.waiting.push(job);
  }

  /** Takes a request out of the waiting list (it was cancelled). */
  remove(job: J): void {
    this.waiting = this.waiting.filter((j) => j !== job);
  }

  /** A parked request whose consumer reads again goes first in line; false if it is not parked or already queued. */
  resume(job: J): boolean {
    if (!job.parked || this.waiting.includes(job)) return false;
    this.waiting.unshift(job);
    return true;
  }

  /** Whether a request with `buffered` unread events should leave the batch. */
  shouldPark(buffered: number): boolean {
    return buffered >= this.highWater;
  }

  /** Whether a parked request, down to `buffered` unread events, should come back. */
  shouldResume(buffered: number): boolean {
    return buffered < this.highWater / 2;
  }

  /** Whether to admit waiting requests before this iteration, with `active` rows in the batch. */
  admitNow(active: number): boolean {
    if (this.waiting.length === 0) return false;
    if (active === 0 || this.waiting.some((j) => j.parked)) return true; // parked requests need no encoder run
    if (this.waiting.length >= Math.max(1, Math.floor(active / 8))) return true;
    return this.iterations - this.waiting[0].queuedAt >= (this.options.admitWait ?? 4);
  }

  /**
   * Takes the waiting requests that fit in the free rows, in order: parked ones rejoin, new ones are
   * encoded together (one encoder run at a time: while one is in flight only parked ones rejoin).
   * The first request is taken even if it needs more rows than are free when nothing else is running.
   */
  admit(active: number): Admission<J> {
    const free = this.options.maxRows - active - this.reservedRows;
    const admission: Admission<J> = { rejoin: [], encode: [], rows: 0 };
    let taken = 0;
    while (this.waiting.length > 0) {
      const job = this.waiting[0];
      if (!job.parked && this.encoderRuns > 0) break;
      const need = job.parked ? job.parked.length : job.rowsWanted;
      if (taken + need > free && (taken > 0 || active > 0 || this.reservedRows > 0)) break;
      this.waiting.shift();
      taken += need;
      if (job.parked) admission.rejoin.push(job);
      else {
        admission.encode.push(job);
        admission.rows += need;
      }
    }
    if (admission.encode.length > 0) {
      this.encoderRuns++;
      this.reservedRows += admission.rows;
    }
    return admission;
  }

  /** An encoder run started by `admit` has ended (its requests joined or failed). */
  encoderRunEnded(rows: number): void {
    this.encoderRuns--;
    this.reservedRows -= rows;
  }
}
