// A worker thread that owns one ONNX Runtime session and runs it on request, so a graph's runs take
// place beside the main thread's event loop instead of on it. Plain JavaScript: worker threads do
// not inherit the TypeScript loader. The main-thread side is worker-graph-runner.ts, which defines
// the messages: workerData { model: Uint8Array, options: SessionOptions }; in { id, feeds }; out
// { type: 'ready' (inputNames, outputNames, inputMetadata) | 'failed' | 'result', ... }. Tensors
// travel as { type, data, dims }; outputs' buffers are transferred, not copied.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const port = parentPort;
if (!port) throw new Error('graph-worker.mjs runs as a worker thread');

const message = (err) => (err instanceof Error ? err.message : String(err));

let session;
try {
  session = await ort.InferenceSession.create(workerData.model, workerData.options);
  // plain copies of the input metadata: the main thread checks every feed against it before posting it
  const inputMetadata = session.inputMetadata.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));
  port.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata });
} catch (err) {
  port.postMessage({ type: 'failed', message: message(err) });
}

port.on('message', async ({ id, feeds }) => {
  try {
    const inputs = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await session.run(inputs, { logSeverityLevel: 4 });
    const outputs = {};
    const transfer = new Set();
    for (const [name, t] of Object.entries(out)) {
      outputs[name] = { type: t.type, data: t.data, dims: t.dims };
      if (ArrayBuffer.isView(t.data)) transfer.add(t.data.buffer);
    }
    port.postMessage({ type: 'result', id, outputs }, [...transfer]);
  } catch (err) {
    port.postMessage({ type: 'result', id, error: message(err) });
  }
});
