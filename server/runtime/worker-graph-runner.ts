/**
 * A GraphRunner whose session lives in a worker thread (graph-worker.mjs): runs go to the worker
 * and their outputs come back transferred, so the main thread's event loop (HTTP, gRPC, the
 * decoding loop) keeps going while the graph runs on another core. Inputs are copied to the
 * worker: meant for graphs with small inputs, such as a seq2seq encoder's token ids.
 *
 * If the worker dies, the runs in flight fail and the next run starts a new worker.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { SeqserveError } from '../core/errors.ts';
import { checkFeeds, signatureFromMetadata, type GraphSignature, type ValueMetadataLike } from '../core/feed-check.ts';
import type { GraphRunner, TensorMap } from '../core/graph-runner.ts';

interface WireTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: readonly number[];
}

type WorkerMessage =
  | { type: 'ready'; inputNames: string[]; outputNames: string[]; inputMetadata: ValueMetadataLike[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs?: Record<string, WireTensor>; error?: string };

interface Pending {
  resolve: (out: TensorMap) => void;
  reject: (err: Error) => void;
}

const WORKER_FILE = new URL('./graph-worker.mjs', import.meta.url);

export class WorkerGraphRunner implements GraphRunner {
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private released = false;
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  /** The worker session's inputs (with the manifest's states): feeds are checked against it on this thread, before they are posted. */
  signature: GraphSignature;

  private constructor(
    /** For messages: `model.graph`. */
    readonly name: string,
    private readonly model: Uint8Array,
    private readonly options: ort.InferenceSession.SessionOptions,
    private readonly onRun: (seconds: number) => void,
    private readonly states: GraphSignature['states'],
    private readonly limits: Pick<GraphSignature, 'minimums' | 'maximums'>,
  ) {
    this.signature = { name, inputs: [], states, ...limits };
  }

  /**
   * Starts the worker and creates its session; rejects if the session cannot be created. `states`
   * are the graph's manifest states (their batch axes are checked to agree), `limits` its axes'
   * minimum and maximum lengths (those of the main thread's LoadedGraph of the same bytes).
   */
  static async start(
    name: string,
    model: Uint8Array,
    options: ort.InferenceSession.SessionOptions,
    onRun: (seconds: number) => void = () => undefined,
    states: GraphSignature['states'] = [],
    limits: Pick<GraphSignature, 'minimums' | 'maximums'> = {},
  ): Promise<WorkerGraphRunner> {
    const runner = new WorkerGraphRunner(name, model, options, onRun, states, { minimums: limits.minimums, maximums: limits.maximums });
    await runner.ready();
    return runner;
  }

  async run(feeds: TensorMap): Promise<TensorMap> {
    if (this.released) throw new SeqserveError('unavailable', `${this.name}: the graph was unloaded`);
    const worker = await this.ready();
    // a feed the runtime would abort the process on (a zero-length axis) or refuse is refused here, not in the worker
    checkFeeds(this.signature, feeds);
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
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, feeds: wire });
    });
    this.onRun((performance.now() - started) / 1000);
    return out;
  }

  async release(): Promise<void> {
    this.released = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  /** The live worker, or a new one once its session exists. */
  private ready(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    return (this.starting ??= this.spawn());
  }

  private spawn(): Promise<Worker> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_FILE, { workerData: { model: this.model, options: this.options } });
      worker.unref();
      const fail = (err: Error) => {
        worker.off('message', onFirstMessage);
        worker.off('error', fail);
        worker.off('exit', onExit);
        this.starting = undefined;
        reject(new SeqserveError('unavailable', `${this.name}: graph worker could not start: ${err.message}`));
      };
      const onExit = (code: number) => fail(new Error(`the worker exited with code ${code}`));
      const onFirstMessage = (msg: WorkerMessage) => {
        if (msg.type !== 'ready') {
          fail(new Error(msg.type === 'failed' ? msg.message : 'unexpected first message'));
          void worker.terminate();
          return;
        }
        worker.off('error', fail);
        worker.off('exit', onExit);
        this.worker = worker;
        this.starting = undefined;
        this.inputNames = msg.inputNames;
        this.outputNames = msg.outputNames;
        this.signature = { name: this.name, inputs: signatureFromMetadata(msg.inputMetadata), states: this.states, ...this.limits };
        this.listen(worker);
        resolve(worker);
      };
      worker.once('message', onFirstMessage);
      worker.once('error', fail);
      worker.once('exit', onExit);
    });
  }

  private listen(worker: Worker): void {
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type !== 'result') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined || !msg.outputs) p.reject(new Error(msg.error ?? 'no outputs'));
      else p.resolve(Object.fromEntries(Object.entries(msg.outputs).map(([name, t]) => [name, new Tensor(t.type, t.data as Float32Array, t.dims)])));
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new SeqserveError('unavailable', `${this.name}: graph worker stopped (${why}); retry`, { retryAfterSeconds: 1 }));
      }
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
  }
}
