/**
 * Dynamic batching of whole requests to a stateless graph, as Triton's `dynamic_batching`:
 * concurrent requests whose inputs agree apart from batch axis 0 (or differ only in the axes the
 * pad plan may pad) are stacked into one run, and each gets its own rows of every output back.
 *
 * When a batch is sent (Triton's rules): at once when the waiting rows reach the largest preferred
 * batch size or can grow no further (`maxBatchSize`); otherwise when the oldest request has waited
 * `maxQueueDelayMs`, then the largest preferred size that can be formed, else all that fits. At most
 * `maxInflight` batches run at once; requests arriving meanwhile wait and form the next batch. A
 * batch that fails is run again one request at a time (runBatchOrRows): only the request whose own
 * input trips the runtime fails. A request whose signal aborts while it waits leaves the queue.
 *
 * Runtime-agnostic: the run function is the caller's (the server's LoadedGraph.run, a fake in tests).
 */
import type { Tensor } from 'onnxruntime-common';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { eachRow, runBatchOrRows } from './run-batch-or-rows.ts';
import { concatAlong, splitAlong } from './tensor-batch.ts';
import { resizeTensor } from './tensor-pad.ts';

/** How requests of different lengths may share a batch. */
export interface PadPlan {
  /** Inputs whose non-batch axes may differ, and the value each is padded with. */
  values: Readonly<Record<string, number>>;
  /** Output axes cut back after the run: to the request's length of axis `inputAxis` of `input`. */
  trim: readonly { output: string; axis: number; input: string; inputAxis: number }[];
  /**
   * Only requests whose padded axes fall in the same power-of-two range (1, 2, 3–4, 5–8, ...) share
   * a batch: padding at most doubles a row, for graphs whose cost grows with the padded length.
   */
  lengthBuckets?: boolean;
}

export interface DynamicBatcherOptions {
  /** For messages: `model.graph`. */
  name: string;
  /** Most rows (batch axis 0, summed over requests) in one run; a request with more runs alone. */
  maxBatchSize: number;
  /** How long the oldest waiting request may wait for others, in milliseconds (0: send what waits as soon as a run may start). */
  maxQueueDelayMs: number;
  preferredBatchSizes?: readonly number[];
  /** Batches running at once (default 1). */
  maxInflight?: number;
  /** Requests allowed to wait; more are refused (resource_exhausted). Default: unbounded. */
  maxQueued?: number;
  pad?: PadPlan;
  /** Called with the rows of each run (metrics). */
  onBatch?: (rows: number) => void;
  /** Clock in milliseconds (tests); default performance.now. */
  now?: () => number;
}

/** One request: its feeds (batch axis 0 in every input), the outputs it wants (all when undefined), its own context for a run alone. */
export interface BatchRequest<C> {
  feeds: TensorMap;
  outputs?: readonly string[];
  /** Passed to the run function when this request runs alone (the server's feed-check field names). */
  context?: C;
  /** Aborting it while the request waits removes it from the queue (rejected with the signal's reason). */
  signal?: AbortSignal;
}

/** Runs the graph: the stacked feeds of a batch (no context), or one request's own feeds (its context). */
export type BatchRunFunction<C> = (feeds: TensorMap, outputs: readonly string[] | undefined, context: C | undefined) => Promise<TensorMap>;

interface Waiting<C> {
  request: BatchRequest<C>;
  rows: number;
  key: string;
  since: number;
  resolve: (out: TensorMap) => void;
  reject: (err: unknown) => void;
  abort?: () => void;
}

/** A batch's outputs do not have one row per input row along axis 0: the graph cannot be batched. */
class NotBatchable extends Error {}

export class DynamicBatcher<C = undefined> {
  private waiting: Waiting<C>[] = [];
  private inflight = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private pumpQueued = false;
  private readonly preferred: number[];
  private readonly now: () => number;
  /** Set when a batch's outputs could not be split by rows: from then on every request runs alone. */
  private unbatchable: string | undefined;

  constructor(
    private readonly run: BatchRunFunction<C>,
    private readonly options: DynamicBatcherOptions,
  ) {
    this.preferred = [...(options.preferredBatchSizes ?? [])].filter((s) => s <= options.maxBatchSize).sort((a, b) => a - b);
    this.now = options.now ?? (() => performance.now());
  }

  /** Requests waiting to join a batch. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Why batching stopped for this graph, if it did (its outputs were not one row per input row). */
  get disabledReason(): string | undefined {
    return this.unbatchable;
  }

  /** Runs one request as part of the next batch it can join; its own outputs (only those it asked for). */
  submit(request: BatchRequest<C>): Promise<TensorMap> {
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(signal.reason ?? new SeqserveError('cancelled', 'cancelled'));
    if (this.unbatchable) return this.runAlone(request);
    const first = Object.values(request.feeds)[0];
    const rows = first?.dims[0] ?? 1;
    if (this.options.maxQueued !== undefined && this.waiting.length >= this.options.maxQueued)
      return Promise.reject(new SeqserveError('resource_exhausted', `${this.options.name}: queue is full (${this.waiting.length} waiting); retry later`, { retryAfterSeconds: 1 }));
    return new Promise<TensorMap>((resolve, reject) => {
      const entry: Waiting<C> = { request, rows, key: this.keyOf(request.feeds), since: this.now(), resolve, reject };
      if (signal) {
        entry.abort = () => {
          const i = this.waiting.indexOf(entry);
          if (i < 0) return; // already running: the caller drops the result
          this.waiting.splice(i, 1);
          reject(signal.reason ?? new SeqserveError('cancelled', 'cancelled'));
          this.schedule();
        };
        signal.addEventListener('abort', entry.abort, { once: true });
      }
      this.waiting.push(entry);
      this.schedule();
    });
  }

  /**
   * Requests with the same key may share a batch: the same inputs with the same shapes apart from
   * axis 0 (padded inputs: only their rank, and with length buckets the power-of-two range of each axis).
   */
  private keyOf(feeds: TensorMap): string {
    const pad = this.options.pad;
    return Object.keys(feeds)
      .sort()
      .map((name) => {
        const t = feeds[name];
        const dims = t.dims.slice(1);
        if (!pad || !Object.hasOwn(pad.values, name)) return `${name}:${t.type}:${dims.join('x')}`;
        return `${name}:${t.type}:rank${dims.length}${pad.lengthBuckets ? `:${dims.map((d) => Math.ceil(Math.log2(Math.max(1, d)))).join('x')}` : ''}`;
      })
      .join('|');
  }

  /** Looks for a batch to send after the current synchronous work (requests submitted together join one batch). */
  private schedule(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    const maxInflight = this.options.maxInflight ?? 1;
    while (this.inflight < maxInflight && this.waiting.length > 0) {
      const head = this.waiting[0];
      const expired = this.now() - head.since >= this.options.maxQueueDelayMs;
      const batch = this.choose(
        this.waiting.filter((w) => w.key === head.key),
        expired,
      );
      if (!batch) {
        this.arm(head.since + this.options.maxQueueDelayMs);
        return;
      }
      const taken = new Set(batch);
      this.waiting = this.waiting.filter((w) => !taken.has(w));
      for (const w of batch) if (w.abort) w.request.signal?.removeEventListener('abort', w.abort);
      this.inflight++;
      void this.dispatch(batch)
        .catch((err: unknown) => {
          for (const w of batch) w.reject(err); // a failure outside the runs (none expected): every request of the batch hears of it
        })
        .finally(() => {
          this.inflight--;
          this.schedule();
        });
    }
    if (this.waiting.length === 0) this.disarm();
  }

  /**
   * The requests of the next batch from `group` (one key, oldest first), or undefined to wait:
   * Triton's rules (see the file comment).
   */
  private choose(group: Waiting<C>[], expired: boolean): Waiting<C>[] | undefined {
    const { maxBatchSize } = this.options;
    const maxPreferred = this.preferred.at(-1);
    let rows = 0;
    let taken = 0;
    let best = 0; // requests making the largest preferred size seen
    let full = false;
    for (const w of group) {
      if (taken > 0 && rows + w.rows > maxBatchSize) {
        full = true;
        break;
      }
      rows += w.rows;
      taken++;
      if (this.preferred.includes(rows)) best = taken;
      if (rows === maxPreferred) return group.slice(0, taken);
      if (rows >= maxBatchSize) {
        full = true;
        break;
      }
    }
    if (!full && !expired) return undefined;
    return group.slice(0, best || taken);
  }

  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.disarm();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - this.now()),
    );
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private async dispatch(batch: Waiting<C>[]): Promise<void> {
    try {
      this.options.onBatch?.(batch.reduce((a, w) => a + w.rows, 0));
    } catch {
      // metrics must not fail requests
    }
    const result = await runBatchOrRows(
      batch,
      (items) => this.runStacked(items),
      (w) => this.runAlone(w.request),
    );
    if (!result.ok && result.error instanceof NotBatchable) this.unbatchable ??= result.error.message;
    eachRow(result).forEach((outcome, i) => (outcome.ok ? batch[i].resolve(outcome.value) : batch[i].reject(outcome.error)));
  }

  private async runAlone(request: BatchRequest<C>): Promise<TensorMap> {
    return pick(await this.run(request.feeds, request.outputs, request.context), request.outputs);
  }

  /** One run of the requests stacked along axis 0 (padded where the plan allows); each request's own outputs. */
  private async runStacked(items: readonly Waiting<C>[]): Promise<TensorMap[]> {
    if (items.length === 1) return [await this.runAlone(items[0].request)];
    const names = Object.keys(items[0].request.feeds);
    const pad = this.options.pad;
    const feeds: TensorMap = {};
    for (const name of names) {
      let parts = items.map((w) => w.request.feeds[name]);
      if (pad && Object.hasOwn(pad.values, name)) {
        const longest = parts[0].dims.map((_, axis) => Math.max(...parts.map((t) => t.dims[axis])));
        parts = parts.map((t) => resizeTensor(t, [t.dims[0], ...longest.slice(1)], pad.values[name]));
      }
      feeds[name] = concatAlong(parts, 0);
    }
    const outputs = unionOf(items.map((w) => w.request.outputs));
    const out = await this.run(feeds, outputs, undefined);
    const total = items.reduce((a, w) => a + w.rows, 0);
    const counts = items.map((w) => w.rows);
    const perRequest: TensorMap[] = items.map(() => ({}));
    for (const [name, tensor] of Object.entries(out)) {
      if (tensor.dims.length === 0 || tensor.dims[0] !== total)
        throw new NotBatchable(
          `${this.options.name}: output "${name}" of a batch of ${total} rows has shape [${tensor.dims.join(', ')}], not ${total} rows along axis 0: requests run alone from now on`,
        );
      splitAlong(tensor as Tensor, 0, counts).forEach((t, i) => (perRequest[i][name] = trimmed(t, name, items[i].request.feeds, pad)));
    }
    return perRequest.map((o, i) => pick(o, items[i].request.outputs));
  }
}

/** The options of a batcher that are plain data (they can cross to a worker thread): all but the callbacks. */
export type DynamicBatcherSettings = Omit<DynamicBatcherOptions, 'onBatch' | 'now'>;

/**
 * `runner` with its runs going through a new DynamicBatcher: what a task gets for a batched graph,
 * wherever its calls run (the server's main thread, an executor thread).
 */
export function batchingRunner(runner: GraphRunner, options: DynamicBatcherOptions): GraphRunner & { readonly batcher: DynamicBatcher } {
  const batcher = new DynamicBatcher<undefined>((feeds) => runner.run(feeds), options);
  return { inputNames: runner.inputNames, outputNames: runner.outputNames, batcher, run: (feeds) => batcher.submit({ feeds }) };
}

/** The outputs a batch must compute: all when any request wants all. */
function unionOf(lists: readonly (readonly string[] | undefined)[]): readonly string[] | undefined {
  if (lists.some((l) => l === undefined)) return undefined;
  return [...new Set(lists.flatMap((l) => l!))];
}

function pick(out: TensorMap, outputs: readonly string[] | undefined): TensorMap {
  if (!outputs) return out;
  const mine: TensorMap = {};
  for (const name of outputs) if (out[name] !== undefined) mine[name] = out[name];
  return mine;
}

/** A request's slice of output `name`, cut back to its own lengths along the axes the pad plan names. */
function trimmed(t: Tensor, name: string, feeds: TensorMap, pad: PadPlan | undefined): Tensor {
  if (!pad) return t;
  const dims = [...t.dims];
  let changed = false;
  for (const cut of pad.trim) {
    if (cut.output !== name) continue;
    const own = feeds[cut.input]?.dims[cut.inputAxis];
    if (own !== undefined && own < dims[cut.axis]) {
      dims[cut.axis] = own;
      changed = true;
    }
  }
  return changed ? resizeTensor(t, dims) : t;
}
