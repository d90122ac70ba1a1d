/**
 * A model's executors: worker threads (executor-worker.mjs), one per model instance (Triton's
 * `instance_group { count }`), each owning a session of every graph of the model. Every run of the
 * model's graphs goes to one of them — the instance with the fewest runs in flight — so the main
 * thread's event loop never waits on ONNX Runtime: it parses, validates, schedules and streams
 * while graphs run on other cores (or, with CUDA, wait on the GPU) in the workers.
 *
 * An instance that dies (a native abort in a runtime, an out-of-memory kill of the thread) fails
 * only the runs it held, with UNAVAILABLE, and is replaced from the model's bytes; the other
 * instances carry on meanwhile.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { SeqserveError } from '../core/errors.ts';
import type { ValueMetadataLike } from '../core/feed-check.ts';
import type { TensorMap } from '../core/graph-runner.ts';

/** What a graph needs of a session: ONNX Runtime's InferenceSession has this shape, and so does a graph of an executor. */
export interface GraphSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadataLike[];
  readonly outputMetadata: readonly ValueMetadataLike[];
  run(feeds: TensorMap, outputs?: readonly string[]): Promise<TensorMap>;
  release(): Promise<void>;
}

interface WireTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: readonly number[];
}

interface GraphDescription {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: ValueMetadataLike[];
  outputMetadata: ValueMetadataLike[];
}

type WorkerMessage =
  | { type: 'ready'; graphs: Record<string, GraphDescription> }
  | { type: 'failed'; graph: string; message: string }
  | { type: 'result'; id: number; outputs?: Record<string, WireTensor>; error?: string };

interface Pending {
  resolve: (out: TensorMap) => void;
  reject: (err: Error) => void;
}

export interface ExecutorOptions {
  /** Worker threads, each with a session of every graph. */
  instances: number;
  /** Called with each run's seconds (queueing in the worker included), by graph. */
  onRun?: (graph: string, seconds: number) => void;
  /** Called when an instance died and a replacement is starting. */
  onReplace?: (instance: number, why: string) => void;
}

const WORKER_FILE = new URL('./executor-worker.mjs', import.meta.url);

/** One worker thread and the runs it holds. */
class Instance {
  readonly pending = new Map<number, Pending>();

  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {}
}

export class ModelExecutor {
  private readonly instances: (Instance | undefined)[];
  private readonly starting = new Map<number, Promise<Instance>>();
  private nextId = 0;
  private nextInstance = 0;
  private released = false;
  readonly graphs: Record<string, GraphSession>;

  private constructor(
    /** For messages: the model's name. */
    readonly name: string,
    private readonly graphBytes: { name: string; bytes: Uint8Array }[],
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    private readonly options: ExecutorOptions,
    first: Instance[],
    described: Record<string, GraphDescription>,
  ) {
    this.instances = first;
    for (const instance of first) this.watch(instance);
    this.graphs = Object.fromEntries(Object.entries(described).map(([graph, d]) => [graph, this.session(graph, d)]));
  }

  /**
   * Starts `options.instances` workers and creates every graph's session in each; rejects with the
   * runtime's message (naming the graph) if a session cannot be created.
   */
  static async start(
    name: string,
    graphs: { name: string; bytes: Uint8Array }[],
    sessionOptions: ort.InferenceSession.SessionOptions,
    options: ExecutorOptions,
  ): Promise<ModelExecutor> {
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.instances) }, (_, i) => spawn(i, graphs, sessionOptions)));
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.instance.worker.terminate() : undefined)));
      throw (failure as PromiseRejectedResult).reason;
    }
    const ok = started.map((s) => (s as PromiseFulfilledResult<{ instance: Instance; graphs: Record<string, GraphDescription> }>).value);
    return new ModelExecutor(
      name,
      graphs,
      sessionOptions,
      options,
      ok.map((s) => s.instance),
      ok[0].graphs,
    );
  }

  /** Instances alive now (a dead one is being replaced). */
  get liveInstances(): number {
    return this.instances.filter(Boolean).length;
  }

  async release(): Promise<void> {
    this.released = true;
    const workers = this.instances.filter((i): i is Instance => i !== undefined).map((i) => i.worker);
    this.instances.fill(undefined);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** For tests: ends an instance's thread as a crash would. */
  async kill(index: number): Promise<void> {
    await this.instances[index]?.worker.terminate();
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
    const started = performance.now();
    const out = await new Promise<TensorMap>((resolve, reject) => {
      instance.pending.set(id, { resolve, reject });
      instance.worker.postMessage({ id, graph, feeds: wire, ...(outputs ? { outputs } : {}) });
    });
    this.options.onRun?.(graph, (performance.now() - started) / 1000);
    return out;
  }

  /** The live instance with the fewest runs in flight (in turn among equals); waits for a replacement when none is alive. */
  private async pick(): Promise<Instance> {
    let best: Instance | undefined;
    const n = this.instances.length;
    for (let k = 0; k < n; k++) {
      const candidate = this.instances[(this.nextInstance + k) % n];
      if (candidate && (!best || candidate.pending.size < best.pending.size)) best = candidate;
    }
    this.nextInstance = (this.nextInstance + 1) % n;
    if (best) return best;
    const replacements = [...this.starting.values()];
    if (replacements.length === 0) throw new SeqserveError('unavailable', `model ${this.name}: no executor is running; retry`, { retryAfterSeconds: 1 });
    return replacements[0];
  }

  private watch(instance: Instance): void {
    instance.worker.on('message', (msg: WorkerMessage) => {
      if (msg.type !== 'result') return;
      const p = instance.pending.get(msg.id);
      if (!p) return;
      instance.pending.delete(msg.id);
      if (msg.error !== undefined || !msg.outputs) p.reject(new Error(msg.error ?? 'no outputs'));
      else p.resolve(Object.fromEntries(Object.entries(msg.outputs).map(([name, t]) => [name, new Tensor(t.type, t.data as Float32Array, t.dims)])));
    });
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (this.instances[instance.index] === instance) this.instances[instance.index] = undefined;
      for (const [id, p] of instance.pending) {
        instance.pending.delete(id);
        p.reject(new SeqserveError('unavailable', `model ${this.name}: its executor stopped (${why}) during this run; retry`, { retryAfterSeconds: 1 }));
      }
      if (!this.released) this.replace(instance.index, why);
    };
    instance.worker.on('error', (err) => onLost(err.message));
    instance.worker.on('exit', (code) => onLost(`exit code ${code}`));
  }

  private replace(index: number, why: string): void {
    this.options.onReplace?.(index, why);
    const starting = spawn(index, this.graphBytes, this.sessionOptions).then(({ instance }) => {
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

/** Starts one worker; resolves once every graph's session exists in it. */
function spawn(
  index: number,
  graphs: { name: string; bytes: Uint8Array }[],
  options: ort.InferenceSession.SessionOptions,
): Promise<{ instance: Instance; graphs: Record<string, GraphDescription> }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_FILE, { workerData: { graphs, options } });
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
    const onFirstMessage = (msg: WorkerMessage) => {
      cleanup();
      if (msg.type === 'ready') return resolve({ instance: new Instance(index, worker), graphs: msg.graphs });
      void worker.terminate();
      reject(Object.assign(new Error(msg.type === 'failed' ? msg.message : 'unexpected first message'), { graph: msg.type === 'failed' ? msg.graph : undefined }));
    };
    worker.on('message', onFirstMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
