/**
 * The messages between a model's executor (model-executor.ts, main thread) and each of its threads
 * (executor-host.ts). Everything is structured-cloneable plain data; tensors travel as
 * `{ type, data, dims }`, output buffers transferred.
 */
import type { Tensor } from 'onnxruntime-common';
import type { GraphSignature, ValueMetadataLike } from '../core/feed-check.ts';
import { asSeqserveError, SeqserveError, type ErrorCode } from '../core/errors.ts';
import type { PlatformOptions } from './server-platform.ts';
import type { DynamicBatcherSettings } from '../core/batching/dynamic-batcher.ts';

export interface WireTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: readonly number[];
}

export interface GraphDescription {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: ValueMetadataLike[];
  outputMetadata: ValueMetadataLike[];
}

/** workerData of a new thread. */
export interface ExecutorWorkerData {
  /** The module the thread runs (executor-host.ts, or .js in the build). */
  host: string;
  /** Register tsx first (the host is TypeScript: development and tests). */
  tsx: boolean;
  graphs: { name: string; bytes: Uint8Array }[];
  options: import('onnxruntime-node').InferenceSession.SessionOptions;
  /** The thread's niceness (Linux): above 0, the main thread's I/O wins a contended core over model runs. */
  nice: number;
}

/** What a thread needs to build the model's task model over its own sessions. */
export interface TaskSpec {
  dir: string;
  /** manifest.json's text, as the main thread read it. */
  manifest: string;
  /** Each graph's feed check, as the main thread computed it (bounds included). */
  signatures: Record<string, GraphSignature>;
  platform: PlatformOptions;
  /** The dynamic batching of each batched graph (server/runtime/batched-graph.ts): the task's concurrent calls in a thread share its runs. */
  batching?: Record<string, DynamicBatcherSettings>;
}

/** A SeqserveError as data. */
export interface WireError {
  code: ErrorCode | 'internal';
  message: string;
  field?: string;
  retryAfterSeconds?: number;
}

export type ToExecutor =
  | { type: 'run'; id: number; graph: string; feeds: Record<string, WireTensor>; outputs?: readonly string[] }
  | { type: 'load-task'; spec: TaskSpec }
  | { type: 'call'; id: number; request: unknown }
  | { type: 'credit'; id: number; n: number }
  | { type: 'cancel'; id: number; reason: WireError }
  | { type: 'stream-open'; id: number; options: unknown }
  | { type: 'stream-push'; id: number; input: unknown }
  | { type: 'stream-end'; id: number }
  | { type: 'stream-close'; id: number }
  /** End the thread once the runs in progress are done (terminating a thread inside a native run can abort the whole process). */
  | { type: 'exit'; code: number };

export type FromExecutor =
  | { type: 'ready'; graphs: Record<string, GraphDescription> }
  | { type: 'failed'; graph: string; message: string }
  | { type: 'result'; id: number; outputs?: Record<string, WireTensor>; error?: string }
  | { type: 'task-ready' }
  | { type: 'task-failed'; message: string }
  /** Events of several calls, gathered over one turn of the thread's event loop (one message per decoder iteration, not one per token). */
  | { type: 'events'; items: [id: number, event: unknown][] }
  | { type: 'end'; id: number }
  | { type: 'error'; id: number; error: WireError }
  /** The answer to a stream's next push or end, in order. */
  | { type: 'stream-result'; id: number; output: unknown }
  | { type: 'stream-error'; id: number; error: WireError }
  | { type: 'metrics'; runs: [string, number][]; batches: [string, number][]; active: [string, number][] };

/** An error as it crosses threads (either way): code, message, field and retry hint kept. */
export function toWireError(err: unknown): WireError {
  const e = asSeqserveError(err);
  return { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}), ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}) };
}

/** The SeqserveError an error that crossed threads stands for. */
export function fromWireError(e: WireError): SeqserveError {
  return new SeqserveError(e.code, e.message, { field: e.field, retryAfterSeconds: e.retryAfterSeconds });
}

/** Events a call may send ahead of its consumer; the consumer gives credit back as it reads. */
export const CALL_WINDOW = 64;
