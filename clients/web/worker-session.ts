/**
 * Sessions that live in the page's session worker (session-worker.ts): each looks like an
 * onnxruntime-web InferenceSession to the page's graph runners (names, input metadata, run), but
 * its runs happen in the worker, so the page stays responsive while a graph runs. Inputs are
 * copied to the worker; outputs come back transferred.
 */
import { Tensor } from 'onnxruntime-common';
import type { ValueMetadataLike } from '../../server/core/feed-check.ts';
import type { TensorMap } from '../../server/core/graph-runner.ts';
import type { WebSession } from './web-graph-runner.ts';

export interface WireTensor {
  type: Tensor.Type;
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Float64Array | Uint32Array | BigUint64Array | string[];
  dims: readonly number[];
}

export type WorkerRequest =
  | { type: 'create'; id: number; session: number; bytes: Uint8Array; wasmPaths: string; numThreads?: number }
  | { type: 'run'; id: number; session: number; feeds: Record<string, WireTensor> }
  | { type: 'release'; id: number; session: number };

export type WorkerReply =
  | { type: 'created'; id: number; inputNames: string[]; outputNames: string[]; inputMetadata: ValueMetadataLike[] }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'released'; id: number }
  | { type: 'error'; id: number; message: string };

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** One Web Worker holding the page's sessions (created on first use). */
export class SessionWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private nextSession = 0;

  constructor(url: string | URL) {
    this.worker = new Worker(url, { type: 'module', name: 'seqserve-sessions' });
    this.worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.type === 'error') p.reject(new Error(e.data.message));
      else p.resolve(e.data);
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`the session worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  private request(msg: WithoutId<WorkerRequest>, transfer: Transferable[] = []): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Creates a session of `bytes` in the worker. */
  async create(bytes: Uint8Array, wasmPaths: string, numThreads?: number): Promise<WebSession & { release(): Promise<void> }> {
    const session = this.nextSession++;
    const created = (await this.request({ type: 'create', session, bytes, wasmPaths, ...(numThreads !== undefined ? { numThreads } : {}) })) as Extract<
      WorkerReply,
      { type: 'created' }
    >;
    return {
      inputNames: created.inputNames,
      outputNames: created.outputNames,
      inputMetadata: created.inputMetadata,
      run: async (feeds: never) => {
        const wire: Record<string, WireTensor> = {};
        for (const [k, t] of Object.entries(feeds as TensorMap)) wire[k] = { type: t.type, data: t.data as WireTensor['data'], dims: t.dims };
        const reply = (await this.request({ type: 'run', session, feeds: wire })) as Extract<WorkerReply, { type: 'result' }>;
        return Object.fromEntries(Object.entries(reply.outputs).map(([k, t]) => [k, new Tensor(t.type, t.data as Float32Array, t.dims)]));
      },
      release: async () => {
        await this.request({ type: 'release', session });
      },
    };
  }
}
