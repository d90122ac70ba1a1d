/**
 * The page's model executor: a Web Worker that owns onnxruntime-web sessions and runs them on
 * request (bundled as /web/session-worker.js), so a graph run never blocks the page's thread; the
 * task's JavaScript (tokenizing, the generation loop, decoding) stays on the page. The page's side
 * is worker-session.ts, which defines the messages.
 */
import * as ort from 'onnxruntime-web';
import type { WorkerReply, WorkerRequest, WireTensor } from './worker-session.ts';

const scope = self as unknown as { onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null; postMessage(m: WorkerReply, transfer?: Transferable[]): void };
const sessions = new Map<number, ort.InferenceSession>();
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

scope.onmessage = (e) => {
  void handle(e.data);
};

async function handle(msg: WorkerRequest): Promise<void> {
  try {
    if (msg.type === 'create') {
      ort.env.wasm.wasmPaths = msg.wasmPaths;
      if (msg.numThreads !== undefined) ort.env.wasm.numThreads = msg.numThreads;
      const session = await ort.InferenceSession.create(msg.bytes, { executionProviders: ['wasm'] });
      sessions.set(msg.session, session);
      const meta = session.inputMetadata.map((m) =>
        m.isTensor ? { name: m.name, isTensor: true as const, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false as const },
      );
      scope.postMessage({ type: 'created', id: msg.id, inputNames: [...session.inputNames], outputNames: [...session.outputNames], inputMetadata: meta });
    } else if (msg.type === 'run') {
      const session = sessions.get(msg.session);
      if (!session) throw new Error('no such session in the worker');
      const feeds = Object.fromEntries(Object.entries(msg.feeds).map(([k, t]) => [k, new ort.Tensor(t.type, t.data as Float32Array, t.dims)]));
      const out = await session.run(feeds);
      const outputs: Record<string, WireTensor> = {};
      const transfer: Transferable[] = [];
      for (const [k, t] of Object.entries(out)) {
        outputs[k] = { type: t.type, data: t.data as WireTensor['data'], dims: t.dims };
        if (ArrayBuffer.isView(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
      }
      scope.postMessage({ type: 'result', id: msg.id, outputs }, transfer);
    } else if (msg.type === 'release') {
      await sessions.get(msg.session)?.release();
      sessions.delete(msg.session);
      scope.postMessage({ type: 'released', id: msg.id });
    }
  } catch (err) {
    scope.postMessage({ type: 'error', id: msg.id, message: messageOf(err) });
  }
}
