/**
 * Continuous batching of single-sequence steps: every step submitted while the graph is busy waits,
 * and the next run stacks all waiting steps with the same shape along their batch axes into one
 * call, then hands each caller its own rows. If a batched run fails, each row is retried alone so
 * one bad row cannot fail the others (runBatchOrRows).
 */
import type { Tensor } from 'onnxruntime-common';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { eachRow, runBatchOrRows } from './run-batch-or-rows.ts';
import { concatAlong, splitAlong } from './tensor-batch.ts';

export interface BatchSchedulerOptions {
  /** Batch axis of each input and output (default 0). */
  batchAxes?: Record<string, number>;
  /** Most rows in one run. */
  maxBatch: number;
  /** Called after each run with its batch size (metrics). */
  onRun?: (batchSize: number) => void;
}

interface Pending {
  feeds: TensorMap;
  resolve: (out: TensorMap) => void;
  reject: (err: unknown) => void;
}

export class BatchScheduler {
  private queue: Pending[] = [];
  private running = false;

  constructor(
    private readonly runner: GraphRunner,
    private readonly options: BatchSchedulerOptions,
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  private axis(name: string): number {
    return this.options.batchAxes?.[name] ?? 0;
  }

  /** Runs one step of one sequence (batch size 1 in every input) as part of the next batch. */
  submit(feeds: TensorMap): Promise<TensorMap> {
    return new Promise<TensorMap>((resolve, reject) => {
      this.queue.push({ feeds, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private signature(feeds: TensorMap): string {
    return Object.keys(feeds)
      .sort()
      .map((k) => `${k}:${feeds[k].dims.map((d, i) => (i === this.axis(k) ? '*' : d)).join('x')}`)
      .join('|');
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      // Let steps submitted in the same tick join the first batch.
      await Promise.resolve();
      while (this.queue.length > 0) {
        const key = this.signature(this.queue[0].feeds);
        const batch: Pending[] = [];
        const rest: Pending[] = [];
        for (const p of this.queue) (batch.length < this.options.maxBatch && this.signature(p.feeds) === key ? batch : rest).push(p);
        this.queue = rest;
        await this.runBatch(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const result = await runBatchOrRows(
      batch,
      (rows) => this.run(rows),
      async (p) => (await this.run([p]))[0],
    );
    eachRow(result).forEach((outcome, i) => (outcome.ok ? batch[i].resolve(outcome.value) : batch[i].reject(outcome.error)));
  }

  /** One run of the stacked rows; each caller's own rows of every output. */
  private async run(batch: readonly Pending[]): Promise<TensorMap[]> {
    this.options.onRun?.(batch.length);
    const names = Object.keys(batch[0].feeds);
    const feeds: TensorMap = {};
    for (const n of names)
      feeds[n] = concatAlong(
        batch.map((p) => p.feeds[n]),
        this.axis(n),
      );
    const out = await this.runner.run(feeds);
    const rows = batch.map((p) => p.feeds[names[0]].dims[this.axis(names[0])]);
    const perRow: TensorMap[] = batch.map(() => ({}));
    for (const [name, tensor] of Object.entries(out)) {
      splitAlong(tensor as Tensor, this.axis(name), rows).forEach((t, i) => (perRow[i][name] = t));
    }
    return perRow;
  }
}
