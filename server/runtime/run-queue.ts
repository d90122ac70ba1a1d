import { SeqserveError } from '../core/errors.ts';

export interface RunQueueOptions {
  /** Runs of one graph allowed at once. */
  maxConcurrent: number;
  /** Runs allowed to wait; beyond that, work is shed with RESOURCE_EXHAUSTED. */
  maxQueued: number;
}

/** Bounded concurrency with a bounded FIFO wait list; reports how long each run waited. */
export class RunQueue {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly name: string,
    private readonly options: RunQueueOptions,
    private readonly onWaited: (seconds: number) => void = () => {},
  ) {}

  get depth(): number {
    return this.waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const queuedAt = performance.now();
    if (this.active >= this.options.maxConcurrent) {
      if (this.waiting.length >= this.options.maxQueued)
        throw new SeqserveError('resource_exhausted', `${this.name}: queue is full (${this.waiting.length} waiting); retry later`, { retryAfterSeconds: 1 });
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    this.onWaited((performance.now() - queuedAt) / 1000);
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
      if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves when no run is active or waiting. */
  async idle(): Promise<void> {
    if (this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
