/**
 * How the server runs a task's graphs (the TaskPlatform): concurrent streams' steps of a streaming
 * graph share batched runs, and a generation engine decodes up to `maxRows` sequences together. The
 * same on the main thread (`--executors off`) and in an executor thread; only where the metrics go
 * differs (`hooks`).
 */
import { BatchScheduler } from '../core/batching/batch-scheduler.ts';
import type { TensorMap } from '../core/graph-runner.ts';
import type { TaskPlatform } from '../tasks/task-module.ts';

export interface PlatformOptions {
  /** Most sequences a generation engine decodes together. */
  maxRows: number;
  /** Most requests a generation engine lets wait for a row. */
  maxWaiting: number;
  /** Most stream steps batched into one run of a streaming graph. */
  streamBatch: number;
}

export interface PlatformHooks {
  /** A batched run or decoder iteration of `graph` (`model.graph`) with `n` rows. */
  batchSize(graph: string, n: number): void;
  /** A generation engine's active sequences changed. */
  activeSequences(model: string, n: number): void;
}

export function serverPlatform(model: string, options: PlatformOptions, hooks: PlatformHooks): TaskPlatform {
  return {
    streamStep: (graph, runner, batchAxes) => {
      const label = `${model}.${graph}`;
      const scheduler = new BatchScheduler(runner, { batchAxes, maxBatch: options.streamBatch, onRun: (n) => hooks.batchSize(label, n) });
      return (feeds: TensorMap) => scheduler.submit(feeds);
    },
    generation: (_, decoderGraph) => ({
      maxRows: options.maxRows,
      maxWaiting: options.maxWaiting,
      onIteration: (n: number) => hooks.batchSize(`${model}.${decoderGraph}`, n),
      onActive: (n: number) => hooks.activeSequences(model, n),
    }),
  };
}
