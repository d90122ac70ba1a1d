// A model instance's executor: a worker thread that owns an ONNX Runtime session for every graph
// of one model and runs them on request, so no model run happens on the main thread's event loop
// (HTTP, gRPC, SSE, the decoding and streaming loops keep going while a graph runs). Plain
// JavaScript: worker threads do not inherit the TypeScript loader, and this file is copied as is
// into the build. The main-thread side, which defines the messages, is model-executor.ts:
//   workerData { graphs: [{ name, bytes }], options: SessionOptions }
//   out: { type: 'ready', graphs: { [name]: { inputNames, outputNames, inputMetadata, outputMetadata } } }
//      | { type: 'failed', graph, message }
//   in: { id, graph, feeds, outputs? }   out: { type: 'result', id, outputs? , error? }
// Tensors travel as { type, data, dims }; outputs' buffers are transferred, not copied.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const port = parentPort;
if (!port) throw new Error('executor-worker.mjs runs as a worker thread');

const message = (err) => (err instanceof Error ? err.message : String(err));
const plain = (meta) => meta.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));

const sessions = new Map();
let failed = false;
for (const { name, bytes } of workerData.graphs) {
  try {
    sessions.set(name, await ort.InferenceSession.create(bytes, workerData.options));
  } catch (err) {
    port.postMessage({ type: 'failed', graph: name, message: message(err) });
    failed = true;
    break;
  }
}
if (!failed) {
  const graphs = {};
  for (const [name, s] of sessions) {
    graphs[name] = { inputNames: s.inputNames, outputNames: s.outputNames, inputMetadata: plain(s.inputMetadata), outputMetadata: plain(s.outputMetadata) };
  }
  port.postMessage({ type: 'ready', graphs });
}

port.on('message', async ({ id, graph, feeds, outputs }) => {
  try {
    const session = sessions.get(graph);
    if (!session) throw new Error(`no graph "${graph}" in this executor`);
    const inputs = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await (outputs ? session.run(inputs, outputs, { logSeverityLevel: 4 }) : session.run(inputs, { logSeverityLevel: 4 }));
    const wire = {};
    const transfer = new Set();
    for (const [name, t] of Object.entries(out)) {
      wire[name] = { type: t.type, data: t.data, dims: t.dims };
      if (ArrayBuffer.isView(t.data)) transfer.add(t.data.buffer);
    }
    port.postMessage({ type: 'result', id, outputs: wire }, [...transfer]);
  } catch (err) {
    port.postMessage({ type: 'result', id, error: message(err) });
  }
});
