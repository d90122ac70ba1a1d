/**
 * The program of a model executor thread (started by model-executor.ts through
 * executor-worker.mjs). It owns an ONNX Runtime session of every graph of one model and runs them
 * on request; for a task that runs in its executor it also builds the task model over those
 * sessions and runs the task's calls here — the scheduling loop and batch state (a generation
 * engine's continuous batching, a stream scheduler) live in this thread, and only requests and
 * events cross to the main thread. Messages: executor-messages.ts.
 */
import { readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from 'onnxruntime-common';
import * as ort from 'onnxruntime-node';
import { SeqserveError } from '../core/errors.ts';
import { checkFeeds, type ValueMetadataLike } from '../core/feed-check.ts';
import type { GraphRunner, TensorMap } from '../core/graph-runner.ts';
import { readManifest } from '../core/manifest.ts';
import { taskModule } from '../tasks/registry.ts';
import type { TaskModule, TaskStream } from '../tasks/task-module.ts';
import { CALL_WINDOW, fromWireError, toWireError, type ExecutorWorkerData, type FromExecutor, type TaskSpec, type ToExecutor, type WireTensor } from './executor-messages.ts';
import { constantFeeds } from './loaded-graph.ts';
import { modelFilePath } from './model-file-path.ts';
import { serverPlatform } from './server-platform.ts';
import { batchingRunner } from '../core/batching/dynamic-batcher.ts';

const port = parentPort!;
const data = workerData as ExecutorWorkerData;
const post = (msg: FromExecutor, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const plain = (meta: readonly ort.InferenceSession.ValueMetadata[]): ValueMetadataLike[] =>
  meta.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));

// ---- priority: lower than the main thread's, set before the sessions (their runtime threads inherit it) ----
if (data.nice > 0 && process.platform === 'linux') {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, data.nice);
  } catch {
    // not permitted or not Linux: the thread keeps the process's priority
  }
}

// ---- sessions ----
const sessions = new Map<string, ort.InferenceSession>();
try {
  for (const { name, bytes } of data.graphs) {
    try {
      sessions.set(name, await ort.InferenceSession.create(bytes, data.options));
    } catch (err) {
      post({ type: 'failed', graph: name, message: messageOf(err) });
      throw err;
    }
  }
  post({
    type: 'ready',
    graphs: Object.fromEntries(
      [...sessions].map(([name, s]) => [
        name,
        { inputNames: [...s.inputNames], outputNames: [...s.outputNames], inputMetadata: plain(s.inputMetadata), outputMetadata: plain(s.outputMetadata) },
      ]),
    ),
  });
} catch {
  // the main thread was told which graph failed; it ends this thread
}

/** Runs in progress: the thread exits only when none is (see `exit`). */
const inProgress = new Set<Promise<unknown>>();
let exiting = false;

async function runSession(graph: string, feeds: TensorMap, outputs?: readonly string[]): Promise<TensorMap> {
  const session = sessions.get(graph);
  if (!session) throw new Error(`no graph "${graph}" in this executor`);
  if (exiting) throw new SeqserveError('unavailable', "the model's executor stopped during this request; retry", { retryAfterSeconds: 1 });
  const started = performance.now();
  const run = (outputs ? session.run(feeds, outputs, { logSeverityLevel: 4 }) : session.run(feeds, { logSeverityLevel: 4 })) as Promise<TensorMap>;
  inProgress.add(run);
  try {
    return await run;
  } finally {
    inProgress.delete(run);
    metrics.runs.push([graph, (performance.now() - started) / 1000]);
    scheduleFlush();
  }
}

/** Ends the thread between runs: stopping it inside a native run can abort the whole process. */
async function exit(code: number): Promise<void> {
  exiting = true;
  for (const call of calls.values()) call.abort.abort(new SeqserveError('unavailable', "the model's executor stopped during this request; retry", { retryAfterSeconds: 1 }));
  while (inProgress.size > 0) await Promise.allSettled([...inProgress]);
  process.exit(code);
}

function fromWire(feeds: Record<string, WireTensor>): TensorMap {
  return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new Tensor(t.type, t.data as Float32Array, t.dims)]));
}

async function runGraph(msg: Extract<ToExecutor, { type: 'run' }>): Promise<void> {
  try {
    const out = await runSession(msg.graph, fromWire(msg.feeds), msg.outputs);
    const wire: Record<string, WireTensor> = {};
    const transfer = new Set<ArrayBuffer>();
    for (const [name, t] of Object.entries(out)) {
      wire[name] = { type: t.type, data: t.data as Tensor.DataType, dims: t.dims };
      if (ArrayBuffer.isView(t.data)) transfer.add(t.data.buffer as ArrayBuffer);
    }
    post({ type: 'result', id: msg.id, outputs: wire }, [...transfer]);
  } catch (err) {
    post({ type: 'result', id: msg.id, error: messageOf(err) });
  }
}

// ---- metrics, sent to the main thread's registry in batches ----
const metrics = { runs: [] as [string, number][], batches: [] as [string, number][], active: new Map<string, number>() };
let flushing: ReturnType<typeof setTimeout> | undefined;
function scheduleFlush(): void {
  flushing ??= setTimeout(() => {
    flushing = undefined;
    post({ type: 'metrics', runs: metrics.runs.splice(0), batches: metrics.batches.splice(0), active: [...metrics.active] });
    metrics.active.clear();
  }, 50);
}

// ---- the task model and its calls ----
let task: TaskModule | undefined;
let model: unknown;

async function loadTask(spec: TaskSpec): Promise<void> {
  try {
    const manifest = readManifest(spec.manifest, path.join(spec.dir, 'manifest.json'));
    const read = async (file: string) => {
      const where = await modelFilePath(spec.dir, file); // a name in the folder, or an npm: reference
      try {
        return new Uint8Array(await readFile(where));
      } catch (err) {
        throw new Error(`${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : messageOf(err)}`);
      }
    };
    const runners: Record<string, GraphRunner> = {};
    for (const [graph, session] of sessions) {
      const signature = spec.signatures[graph];
      const declared = manifest.graphs[graph]?.constants;
      const constants = declared ? constantFeeds(signature.name, declared, signature.inputs as Parameters<typeof constantFeeds>[2]) : undefined;
      runners[graph] = {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        // the manifest's constants and the feed check every run gets, here as in LoadedGraph.run on the main thread
        run: async (feeds) => {
          if (constants) feeds = { ...feeds, ...constants };
          checkFeeds(signature, feeds);
          return runSession(graph, feeds);
        },
      };
    }
    // batched graphs (dynamic batching): the task's concurrent calls in this thread share runs, one batch at a time; each call's feed is checked alone first
    for (const [graph, settings] of Object.entries(spec.batching ?? {})) {
      const runner = runners[graph];
      if (!runner) continue;
      const label = `${manifest.name}.${graph}`;
      const batched = batchingRunner(runner, {
        ...settings,
        maxInflight: 1,
        onBatch: (n) => {
          metrics.batches.push([label, n]);
          scheduleFlush();
        },
      });
      runners[graph] = {
        inputNames: runner.inputNames,
        outputNames: runner.outputNames,
        run: async (feeds) => {
          checkFeeds(spec.signatures[graph], feeds);
          return batched.run(feeds);
        },
      };
    }
    const inputShapes = Object.fromEntries(Object.entries(spec.signatures).map(([g, s]) => [g, Object.fromEntries(s.inputs.map((i) => [i.name, [...i.shape]]))]));
    const platform = serverPlatform(manifest.name, spec.platform, {
      batchSize: (graph, n) => {
        metrics.batches.push([graph, n]);
        scheduleFlush();
      },
      activeSequences: (m, n) => {
        metrics.active.set(m, n);
        scheduleFlush();
      },
    });
    task = taskModule(manifest.task) as TaskModule;
    model = await task.load({ manifest, read, runners, inputShapes, platform });
    post({ type: 'task-ready' });
  } catch (err) {
    post({ type: 'task-failed', message: messageOf(err) });
  }
}

// events of all calls, sent together once per turn of this thread's event loop
let outbox: [number, unknown][] = [];
let flushScheduled = false;

function sendEvent(id: number, event: unknown): void {
  outbox.push([id, event]);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushEvents);
}

function flushEvents(): void {
  flushScheduled = false;
  if (outbox.length === 0) return;
  const items = outbox;
  outbox = [];
  post({ type: 'events', items });
}

interface Call {
  abort: AbortController;
  credit: number;
  wake?: () => void;
}
const calls = new Map<number, Call>();

async function runCall(id: number, request: unknown): Promise<void> {
  const call: Call = { abort: new AbortController(), credit: CALL_WINDOW };
  calls.set(id, call);
  try {
    if (!task) throw new SeqserveError('unavailable', 'the task model is not loaded in this executor');
    for await (const event of task.run(model, request, call.abort.signal)) {
      while (call.credit === 0 && !call.abort.signal.aborted) await new Promise<void>((resolve) => (call.wake = resolve));
      if (call.abort.signal.aborted) break;
      call.credit--;
      sendEvent(id, event);
    }
    flushEvents(); // a call's events go before its end
    post({ type: 'end', id });
  } catch (err) {
    flushEvents();
    post({ type: 'error', id, error: toWireError(call.abort.signal.aborted ? call.abort.signal.reason : err) });
  } finally {
    calls.delete(id);
  }
}

/** Live task streams; each one's pushes are answered in order. */
const streams = new Map<number, { stream: TaskStream; chain: Promise<void> }>();

function onStream(id: number, step: (stream: TaskStream) => Promise<unknown>, last = false): void {
  const entry = streams.get(id);
  if (!entry) return post({ type: 'stream-error', id, error: toWireError(new SeqserveError('unavailable', 'the stream is not open in this executor')) });
  entry.chain = entry.chain.then(async () => {
    try {
      const output = await step(entry.stream);
      const transfer = ArrayBuffer.isView(output) ? [output.buffer as ArrayBuffer] : [];
      post({ type: 'stream-result', id, output }, transfer);
    } catch (err) {
      post({ type: 'stream-error', id, error: toWireError(err) });
    } finally {
      if (last) streams.delete(id);
    }
  });
}

port.on('message', (msg: ToExecutor) => {
  switch (msg.type) {
    case 'run':
      void runGraph(msg);
      break;
    case 'load-task':
      void loadTask(msg.spec);
      break;
    case 'call':
      void runCall(msg.id, msg.request);
      break;
    case 'credit': {
      const call = calls.get(msg.id);
      if (call) {
        call.credit += msg.n;
        call.wake?.();
      }
      break;
    }
    case 'stream-open':
      try {
        if (!task?.stream) throw new SeqserveError('unavailable', 'the task has no streams in this executor');
        streams.set(msg.id, { stream: task.stream.open(model, msg.options), chain: Promise.resolve() });
      } catch (err) {
        post({ type: 'stream-error', id: msg.id, error: toWireError(err) });
      }
      break;
    case 'stream-push':
      onStream(msg.id, (stream) => stream.push(msg.input));
      break;
    case 'stream-end':
      onStream(msg.id, (stream) => stream.end(), true);
      break;
    case 'stream-close':
      streams.delete(msg.id);
      break;
    case 'exit':
      void exit(msg.code);
      break;
    case 'cancel': {
      const call = calls.get(msg.id);
      if (call) {
        call.abort.abort(fromWireError(msg.reason));
        call.wake?.();
      }
      break;
    }
  }
});
