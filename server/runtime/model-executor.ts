/**
 * A model's executors: worker threads, one per model instance (Triton's `instance_group { count }`),
 * each owning a session of every graph of the model (executor-host.ts). Every run of the model's
 * graphs goes to one of them — the instance with the least work in flight — so the main thread's
 * event loop never waits on ONNX Runtime: it parses, validates, admits and streams while graphs run
 * on other cores (or, with CUDA, wait on the GPU) in the threads.
 *
 * A task that runs in its executor (`TaskModule.executor`) is loaded in every thread too, and its
 * calls run there: the scheduling loop and batch state (a generation engine's continuous batching)
 * live beside the sessions, and only requests and events cross threads, with credit-based flow
 * control so a slow reader holds its call back.
 *
 * An instance that dies (a native abort in a runtime, the thread killed) fails only the runs and
 * calls it held, with UNAVAILABLE, and is replaced from the model's bytes; the other instances
 * carry on meanwhile.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { SeqserveError, asSeqserveError } from '../core/errors.ts';
import type { ValueMetadataLike } from '../core/feed-check.ts';
import type { TensorMap } from '../core/graph-runner.ts';
import type { TaskStream } from '../tasks/task-module.ts';
import {
  CALL_WINDOW,
  type ExecutorWorkerData,
  type FromExecutor,
  type GraphDescription,
  type TaskSpec,
  type ToExecutor,
  type WireTensor,
  fromWireError,
  toWireError,
} from './executor-messages.ts';

/** What a graph needs of a session: ONNX Runtime's InferenceSession has this shape, and so does a graph of an executor. */
export interface GraphSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadataLike[];
  readonly outputMetadata: readonly ValueMetadataLike[];
  run(feeds: TensorMap, outputs?: readonly string[]): Promise<TensorMap>;
  release(): Promise<void>;
}

export interface ExecutorOptions {
  /** Worker threads, each with a session of every graph. */
  instances: number;
  /** The threads' niceness (Linux, default 0): above 0 the main thread's I/O wins a contended core over model runs. */
  nice?: number;
  /** Each graph run's seconds in a thread, by graph name. */
  onRun?: (graph: string, seconds: number) => void;
  /** A batched run or decoder iteration in a thread (`model.graph`, rows). */
  onBatch?: (graph: string, rows: number) => void;
  /** A generation engine's active sequences, summed over the instances. */
  onActive?: (sequences: number) => void;
  /** An instance died and a replacement is starting. */
  onReplace?: (instance: number, why: string) => void;
}

const HOST = new URL(`./executor-host.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
const ENTRY = new URL('./executor-worker.mjs', import.meta.url);

interface PendingRun {
  resolve: (out: TensorMap) => void;
  reject: (err: Error) => void;
}

/** The main thread's side of one call running in a thread. */
class RemoteCall {
  readonly events: unknown[] = [];
  done = false;
  error: Error | undefined;
  wake: (() => void) | undefined;
  read = 0;

  push(): void {
    this.wake?.();
    this.wake = undefined;
  }
}

/** The main thread's side of a task stream living in a thread: its pushes' answers, in order. */
class RemoteStream {
  readonly pending: PendingRun[] = [];
  failed: Error | undefined;

  fail(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** One worker thread and the work it holds. */
class Instance {
  readonly runs = new Map<number, PendingRun>();
  readonly calls = new Map<number, RemoteCall>();
  readonly streams = new Map<number, RemoteStream>();
  active = 0;

  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {}

  get load(): number {
    return this.runs.size + this.calls.size + this.streams.size;
  }

  post(msg: ToExecutor, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }
}

export class ModelExecutor {
  private readonly instances: (Instance | undefined)[];
  private readonly starting = new Map<number, Promise<Instance>>();
  private nextId = 0;
  private nextInstance = 0;
  private released = false;
  private task: TaskSpec | undefined;
  readonly graphs: Record<string, GraphSession>;

  private constructor(
    /** For messages: the model's name. */
    readonly name: string,
    private readonly workerData: Omit<ExecutorWorkerData, 'host' | 'tsx'>,
    private readonly options: ExecutorOptions,
    first: Instance[],
    described: Record<string, GraphDescription>,
  ) {
    this.instances = first;
    for (const instance of first) this.watch(instance);
    this.graphs = Object.fromEntries(Object.entries(described).map(([graph, d]) => [graph, this.session(graph, d)]));
  }

  /**
   * Starts `options.instances` threads and creates every graph's session in each; rejects with the
   * runtime's message (the error's `graph` names the graph) if a session cannot be created.
   */
  static async start(
    name: string,
    graphs: { name: string; bytes: Uint8Array }[],
    sessionOptions: ort.InferenceSession.SessionOptions,
    options: ExecutorOptions,
  ): Promise<ModelExecutor> {
    const data = { graphs, options: sessionOptions, nice: options.nice ?? 0 };
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.instances) }, (_, i) => spawn(i, data)));
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.instance.worker.terminate() : undefined)));
      throw (failure as PromiseRejectedResult).reason;
    }
    const ok = started.map((s) => (s as PromiseFulfilledResult<{ instance: Instance; graphs: Record<string, GraphDescription> }>).value);
    return new ModelExecutor(
      name,
      data,
      options,
      ok.map((s) => s.instance),
      ok[0].graphs,
    );
  }

  /** The model's task runs its calls in these threads (`loadTask`). */
  get runsTask(): boolean {
    return this.task !== undefined;
  }

  /** Instances alive now (a dead one is being replaced). */
  get liveInstances(): number {
    return this.instances.filter(Boolean).length;
  }

  /** Builds the model's task model in every thread, so `call` runs the task there (and in every replacement). */
  async loadTask(spec: TaskSpec): Promise<void> {
    this.task = spec;
    await Promise.all(this.instances.map((i) => (i ? loadTaskIn(i, spec) : undefined)));
  }

  /** Runs one call of the task in the least busy thread: its events, until the task ends or `signal` aborts it. */
  call<E>(request: unknown, signal: AbortSignal): AsyncIterableIterator<E> {
    if (!this.task) throw new Error(`model ${this.name}: its task does not run in its executor`);
    const id = this.nextId++;
    const remote = new RemoteCall();
    let instance: Instance | undefined;
    const cancel = () => {
      instance?.post({ type: 'cancel', id, reason: toWireError(signal.reason) });
      remote.push();
    };
    const started = this.pick().then((picked) => {
      instance = picked;
      picked.calls.set(id, remote);
      picked.post({ type: 'call', id, request });
      if (signal.aborted) cancel();
    });
    signal.addEventListener('abort', cancel, { once: true });
    const finish = () => {
      signal.removeEventListener('abort', cancel);
      instance?.calls.delete(id);
    };
    const iterator: AsyncIterableIterator<E> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        await started.catch((err: unknown) => {
          remote.error ??= asSeqserveError(err);
          remote.done = true;
        });
        for (;;) {
          if (remote.events.length > 0) {
            const value = remote.events.shift() as E;
            // give credit back in halves of the window: one message per CALL_WINDOW / 2 events
            if (++remote.read === CALL_WINDOW / 2) {
              instance?.post({ type: 'credit', id, n: remote.read });
              remote.read = 0;
            }
            return { done: false, value };
          }
          if (remote.done) {
            finish();
            if (remote.error) throw remote.error;
            return { done: true, value: undefined };
          }
          if (signal.aborted) {
            finish();
            throw signal.reason;
          }
          await new Promise<void>((resolve) => (remote.wake = resolve));
        }
      },
      return: async () => {
        if (!remote.done) instance?.post({ type: 'cancel', id, reason: { code: 'cancelled', message: 'the consumer stopped reading' } });
        remote.done = true;
        finish();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  /** Stops every thread (each once its runs in progress are done; see `stopThread`). */
  /**
   * Opens a task stream in the least busy thread (its state lives there until it ends): each push
   * is answered in order. A stream whose thread dies fails its pending and later pushes.
   */
  async openStream<In, Out>(options: unknown): Promise<TaskStream<In, Out> & { close(): void }> {
    if (!this.task) throw new Error(`model ${this.name}: its task does not run in its executor`);
    const instance = await this.pick();
    const id = this.nextId++;
    const remote = new RemoteStream();
    instance.streams.set(id, remote);
    instance.post({ type: 'stream-open', id, options });
    const send = (msg: ToExecutor, transfer: ArrayBuffer[] = []) =>
      new Promise<Out>((resolve, reject) => {
        if (remote.failed) return reject(remote.failed);
        remote.pending.push({ resolve: resolve as (out: unknown) => void, reject } as PendingRun);
        instance.post(msg, transfer);
      });
    return {
      push: (input: In) => send({ type: 'stream-push', id, input }, ownedBuffer(input)),
      end: async () => {
        try {
          return await send({ type: 'stream-end', id });
        } finally {
          instance.streams.delete(id);
        }
      },
      close: () => {
        if (!instance.streams.delete(id)) return;
        remote.fail(new SeqserveError('cancelled', 'the stream was closed'));
        instance.post({ type: 'stream-close', id });
      },
    };
  }

  /** Work in flight in its threads: graph runs, task calls and streams. */
  get inFlight(): number {
    return this.instances.reduce((n, i) => n + (i?.load ?? 0), 0);
  }

  async release(): Promise<void> {
    this.released = true;
    const live = this.instances.filter((i): i is Instance => i !== undefined);
    this.instances.fill(undefined);
    await Promise.all(live.map((i) => stopThread(i.worker, 0)));
  }

  /** For tests: ends an instance's thread as a crash would (between runs), so its work fails and a replacement starts. */
  async stopInstance(index: number): Promise<void> {
    const instance = this.instances[index];
    if (instance) await stopThread(instance.worker, 1);
  }

  private session(graph: string, d: GraphDescription): GraphSession {
    return {
      inputNames: d.inputNames,
      outputNames: d.outputNames,
      inputMetadata: d.inputMetadata,
      outputMetadata: d.outputMetadata,
      run: (feeds, outputs) => this.run(graph, feeds, outputs),
      // the sessions are the executor's: released with it
      release: async () => undefined,
    };
  }

  private async run(graph: string, feeds: TensorMap, outputs?: readonly string[]): Promise<TensorMap> {
    if (this.released) throw new SeqserveError('unavailable', `model ${this.name} was unloaded`);
    const instance = await this.pick();
    const wire: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const data = t.data as Tensor.DataType;
      // a view copies its whole buffer when cloned: send just its elements
      const own = ArrayBuffer.isView(data) && (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) ? data.slice() : data;
      wire[name] = { type: t.type, data: own, dims: t.dims };
    }
    const id = this.nextId++;
    return new Promise<TensorMap>((resolve, reject) => {
      instance.runs.set(id, { resolve, reject });
      instance.post({ type: 'run', id, graph, feeds: wire, ...(outputs ? { outputs } : {}) });
    });
  }

  /** The live instance with the least work in flight (in turn among equals); waits for a replacement when none is alive. */
  private async pick(): Promise<Instance> {
    if (this.released) throw new SeqserveError('unavailable', `model ${this.name} was unloaded`);
    let best: Instance | undefined;
    const n = this.instances.length;
    for (let k = 0; k < n; k++) {
      const candidate = this.instances[(this.nextInstance + k) % n];
      if (candidate && (!best || candidate.load < best.load)) best = candidate;
    }
    this.nextInstance = (this.nextInstance + 1) % n;
    if (best) return best;
    const replacements = [...this.starting.values()];
    if (replacements.length === 0) throw new SeqserveError('unavailable', `model ${this.name}: no executor is running; retry`, { retryAfterSeconds: 1 });
    return replacements[0];
  }

  private watch(instance: Instance): void {
    instance.worker.on('message', (msg: FromExecutor) => this.receive(instance, msg));
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (this.instances[instance.index] === instance) this.instances[instance.index] = undefined;
      const failure = () => new SeqserveError('unavailable', `model ${this.name}: its executor stopped (${why}) during this request; retry`, { retryAfterSeconds: 1 });
      for (const [id, p] of instance.runs) {
        instance.runs.delete(id);
        p.reject(failure());
      }
      for (const [id, stream] of instance.streams) {
        instance.streams.delete(id);
        stream.fail(failure());
      }
      for (const [id, call] of instance.calls) {
        instance.calls.delete(id);
        call.error = failure();
        call.done = true;
        call.push();
      }
      instance.active = 0;
      this.reportActive();
      if (!this.released) this.replace(instance.index, why);
    };
    instance.worker.on('error', (err) => onLost(err.message));
    instance.worker.on('exit', (code) => onLost(`exit code ${code}`));
  }

  private receive(instance: Instance, msg: FromExecutor): void {
    switch (msg.type) {
      case 'result': {
        const p = instance.runs.get(msg.id);
        if (!p) return;
        instance.runs.delete(msg.id);
        if (msg.error !== undefined || !msg.outputs) p.reject(new Error(msg.error ?? 'no outputs'));
        else p.resolve(Object.fromEntries(Object.entries(msg.outputs).map(([name, t]) => [name, new Tensor(t.type, t.data as Float32Array, t.dims)])));
        return;
      }
      case 'events': {
        const woken = new Set<RemoteCall>();
        for (const [id, event] of msg.items) {
          const call = instance.calls.get(id);
          if (!call) continue;
          call.events.push(event);
          woken.add(call);
        }
        for (const call of woken) call.push();
        return;
      }
      case 'end':
      case 'error': {
        const call = instance.calls.get(msg.id);
        if (!call) return;
        call.done = true;
        if (msg.type === 'error') call.error = fromWireError(msg.error);
        call.push();
        return;
      }
      case 'stream-result':
      case 'stream-error': {
        const stream = instance.streams.get(msg.id);
        const p = stream?.pending.shift();
        if (!p) return;
        if (msg.type === 'stream-result') p.resolve(msg.output as TensorMap);
        else {
          p.reject(fromWireError(msg.error));
        }
        return;
      }
      case 'metrics': {
        for (const [graph, seconds] of msg.runs) this.options.onRun?.(graph, seconds);
        for (const [graph, rows] of msg.batches) this.options.onBatch?.(graph, rows);
        if (msg.active.length > 0) {
          instance.active = msg.active.reduce((a, [, n]) => a + n, 0);
          this.reportActive();
        }
        return;
      }
      default:
        return;
    }
  }

  private reportActive(): void {
    this.options.onActive?.(this.instances.reduce((a, i) => a + (i?.active ?? 0), 0));
  }

  private replace(index: number, why: string): void {
    this.options.onReplace?.(index, why);
    const starting = spawn(index, this.workerData)
      .then(async ({ instance }) => {
        if (this.task) await loadTaskIn(instance, this.task);
        return instance;
      })
      .then((instance) => {
        this.starting.delete(index);
        if (this.released) {
          void instance.worker.terminate();
          throw new SeqserveError('unavailable', `model ${this.name} was unloaded`);
        }
        this.instances[index] = instance;
        this.watch(instance);
        return instance;
      });
    starting.catch(() => this.starting.delete(index));
    this.starting.set(index, starting);
  }
}

/** The buffer of a typed-array input that owns its whole buffer, to transfer rather than copy. */
function ownedBuffer(input: unknown): ArrayBuffer[] {
  if (!ArrayBuffer.isView(input)) return [];
  const buffer = input.buffer;
  return buffer instanceof ArrayBuffer && input.byteOffset === 0 && input.byteLength === buffer.byteLength ? [buffer] : [];
}

/**
 * Asks a thread to end once its runs in progress are done, and waits for it (terminating it at
 * once could stop it inside ONNX Runtime, which aborts the whole process); terminates it after
 * `graceMs` if it has not ended.
 */
async function stopThread(worker: Worker, code: number, graceMs = 5000): Promise<void> {
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ type: 'exit', code } satisfies ToExecutor);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  if ((await Promise.race([ended, late])) === 'late') await worker.terminate();
  clearTimeout(timer);
}

/** Builds the task model in one thread. */
function loadTaskIn(instance: Instance, spec: TaskSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: FromExecutor) => {
      if (msg.type !== 'task-ready' && msg.type !== 'task-failed') return;
      instance.worker.off('message', onMessage);
      if (msg.type === 'task-ready') resolve();
      else reject(new Error(msg.message));
    };
    instance.worker.on('message', onMessage);
    instance.post({ type: 'load-task', spec });
  });
}

/** Starts one thread; resolves once every graph's session exists in it. */
function spawn(index: number, data: Omit<ExecutorWorkerData, 'host' | 'tsx'>): Promise<{ instance: Instance; graphs: Record<string, GraphDescription> }> {
  return new Promise((resolve, reject) => {
    const workerData: ExecutorWorkerData = { ...data, host: HOST.href, tsx: HOST.pathname.endsWith('.ts') };
    const worker = new Worker(ENTRY, { workerData });
    // executors never keep the process alive: the server's listeners do
    worker.unref();
    const cleanup = () => {
      worker.off('message', onFirstMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`executor could not start: ${err.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`executor exited with code ${code} while starting`));
    };
    const onFirstMessage = (msg: FromExecutor) => {
      if (msg.type !== 'ready' && msg.type !== 'failed') return;
      cleanup();
      if (msg.type === 'ready') return resolve({ instance: new Instance(index, worker), graphs: msg.graphs });
      void worker.terminate();
      reject(Object.assign(new Error(msg.message), { graph: msg.graph }));
    };
    worker.on('message', onFirstMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
