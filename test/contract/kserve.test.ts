/**
 * Contract of the KServe v2 REST routes and Triton's model-repository extension over a stub context:
 * health, server and model metadata, readiness, infer in JSON and with the binary tensor extension,
 * KServe's `{"error": "..."}` shape with 400 / 404 / 413 / 429 / 503, and index / load / unload with
 * model control off and on (and admin keys). The graphs are real LoadedGraphs over fake sessions (no
 * ONNX Runtime); what real graphs compute is test/kserve-http.test.ts's business.
 */
import { describe, expect, it } from 'vitest';
import { binaryBody } from '../../server/core/kserve-binary.ts';
import { createApp } from '../../server/http/app.ts';
import { jsonInit } from '../helpers/contract-http.ts';
import { DOUBLER, type FakeGraph, fakeSlotFiller } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

/** DOUBLER, waiting for `gate` before it answers. */
function gated(gate: Promise<void>): FakeGraph {
  return { ...DOUBLER, run: async (feeds) => (await gate, DOUBLER.run(feeds)) };
}

function setup(config: StubOptions['config'] = {}, graph: FakeGraph = DOUBLER) {
  const stub = stubContext({
    config,
    models: [
      { name: 'tensor', task: 'generic', taskModel: null, graphs: { doubler: graph } },
      { name: 'pair', task: 'generic', taskModel: null, graphs: { a: DOUBLER, b: DOUBLER } },
      { name: 'slots', task: 'slot-filling', taskModel: fakeSlotFiller(), graphs: { tagger: { ...DOUBLER, role: 'tagger' } } },
      { name: 'broken', task: 'generic', taskModel: null, state: 'failed', reason: '/models/broken/manifest.json: graphs: is required' },
      { name: 'added', task: 'generic', taskModel: null, graphs: { doubler: DOUBLER }, state: 'folder' },
      { name: 'bad', task: 'generic', taskModel: null, state: 'folder', loadError: '/models/bad/model.onnx: file not found' },
    ],
  });
  return { app: createApp(stub.ctx), stub };
}

const X = { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
const infer = (body: unknown, headers: Record<string, string> = {}) => jsonInit(body, headers);

async function kserveError(res: Response, status: number, message: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toEqual({ error: expect.stringMatching(message) });
}

describe('KServe v2 REST: health and metadata', () => {
  it('answers liveness, readiness and server metadata', async () => {
    const { app } = setup();
    expect(await (await app.request('/v2/health/live')).json()).toEqual({ live: true });
    expect(await (await app.request('/v2/health/ready')).json()).toEqual({ ready: true });
    const meta = await (await app.request('/v2')).json();
    expect(meta).toEqual({
      name: 'seqserve',
      version: expect.any(String),
      extensions: expect.arrayContaining(['binary_tensor_data', 'model_repository', 'health', 'metrics', 'statistics']),
      execution_providers: { configured: expect.any(Array), unavailable: {} },
    });
  });

  it('answers model metadata by model and by model.graph, every parameter a string', async () => {
    const { app } = setup();
    for (const path of ['/v2/models/tensor', '/v2/models/tensor.doubler', '/v2/models/tensor/versions/1']) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      const m = await res.json();
      expect(m).toEqual({
        name: 'tensor.doubler',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
        outputs: [
          { name: 'y', datatype: 'FP32', shape: [-1, 3] },
          { name: 'sum', datatype: 'FP32', shape: [-1] },
        ],
        parameters: expect.objectContaining({ task: 'generic', role: 'model', execution_provider: 'cpu', states: '[]', graphs: 'tensor.doubler' }),
      });
      for (const v of Object.values(m.parameters)) expect(typeof v).toBe('string');
      expect(JSON.parse(m.parameters.max_shapes)).toEqual(expect.any(Object));
    }
  });

  it('answers readiness per model: 200, 503 with the reason when not serving, 404 when unknown', async () => {
    const { app } = setup();
    const ready = await app.request('/v2/models/tensor/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ name: 'tensor', ready: true });
    expect((await app.request('/v2/models/tensor/versions/1/ready')).status).toBe(200);
    const broken = await app.request('/v2/models/broken/ready');
    expect(broken.status).toBe(503);
    expect(await broken.json()).toEqual({ name: 'broken', ready: false, error: expect.stringMatching(/not serving: it failed to load: .*graphs: is required/) });
    await kserveError(await app.request('/v2/models/nope/ready'), 404, /unknown model "nope"/);
  });

  it.each([
    ['an unknown model', '/v2/models/nope', 404, /unknown model "nope"/],
    ['an unknown version', '/v2/models/tensor/versions/9', 404, /no version "9" \(it has "1"\)/],
    ['an unknown graph', '/v2/models/pair.c', 404, /no graph "c"/],
    ['a model that is not serving', '/v2/models/broken', 503, /not serving: it failed to load/],
  ])('metadata of %s: KServe error shape', async (_, path, status, message) => {
    await kserveError(await setup().app.request(path), status, message);
  });

  it('metadata of a model of several graphs (and no model-level interface) by its own name lists its graphs; infer by that name names them', async () => {
    const { app } = setup();
    const res = await app.request('/v2/models/pair');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'pair', platform: 'seqserve_graphs', inputs: [], outputs: [], parameters: { graphs: 'pair.a,pair.b' } });
    await kserveError(
      await app.request('/v2/models/pair/infer', { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }) }),
      404,
      /several graphs and no model-level interface; infer one of: pair\.a, pair\.b/,
    );
  });
});

describe('KServe v2 REST: infer', () => {
  it('infers with JSON tensors: model name, version, id, every output by default or the ones asked for', async () => {
    const { app } = setup();
    const res = await app.request('/v2/models/tensor/infer', infer({ id: 'req-7', inputs: [X] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      model_name: 'tensor.doubler',
      model_version: '1',
      id: 'req-7',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [2, 3], data: [2, 4, 6, 8, 10, 12] },
        { name: 'sum', datatype: 'FP32', shape: [2], data: [6, 15] },
      ],
    });
    const one = await app.request(
      '/v2/models/tensor.doubler/versions/1/infer',
      infer({
        inputs: [
          {
            ...X,
            data: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        ],
        outputs: [{ name: 'sum' }],
      }),
    );
    expect(await one.json()).toEqual({ model_name: 'tensor.doubler', model_version: '1', outputs: [{ name: 'sum', datatype: 'FP32', shape: [2], data: [6, 15] }] });
  });

  it('infers with the binary tensor extension both ways, and mixes binary and JSON outputs', async () => {
    const { app } = setup();
    const x = new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer);
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: x.byteLength } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'sum' }],
      },
      [x],
    );
    const res = await app.request('/v2/models/tensor/infer', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const length = Number(res.headers.get('inference-header-content-length'));
    const bytes = new Uint8Array(await res.arrayBuffer());
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, length)));
    expect(header).toEqual({
      model_name: 'tensor.doubler',
      model_version: '1',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } },
        { name: 'sum', datatype: 'FP32', shape: [2], data: [6, 15] },
      ],
    });
    expect(bytes.byteLength).toBe(length + 24);
    expect(new Float32Array(bytes.slice(length).buffer)).toEqual(Float32Array.of(2, 4, 6, 8, 10, 12));
    // every output binary when the request says so
    const all = await app.request('/v2/models/tensor/infer', infer({ inputs: [X], parameters: { binary_data_output: true } }));
    expect(all.headers.get('content-type')).toBe('application/octet-stream');
    expect(Number(all.headers.get('inference-header-content-length'))).toBeGreaterThan(0);
  });

  it.each([
    ['malformed JSON', '/v2/models/tensor/infer', '{"inputs": [', 400, /body: malformed JSON/],
    ['no inputs', '/v2/models/tensor/infer', { inputs: [] }, 400, /^inputs: /],
    ['an unknown input', '/v2/models/tensor/infer', { inputs: [{ ...X, name: 'z' }] }, 400, /inputs\[0\]\.name: "z" is not an input of tensor.doubler/],
    ['a wrong datatype', '/v2/models/tensor/infer', { inputs: [{ ...X, datatype: 'INT64' }] }, 400, /inputs\[0\]\.datatype: input "x" takes FP32, not INT64/],
    ['a wrong rank', '/v2/models/tensor/infer', { inputs: [{ ...X, shape: [6] }] }, 400, /inputs\[0\]\.shape: input "x" has rank 2/],
    ['a wrong fixed dimension', '/v2/models/tensor/infer', { inputs: [{ ...X, shape: [3, 2] }] }, 400, /inputs\[0\]\.shape: dimension 1 of input "x" must be 3, not 2/],
    ['a zero-size axis', '/v2/models/tensor/infer', { inputs: [{ ...X, shape: [0, 3], data: [] }] }, 400, /inputs\[0\]\.shape: input "x" axis 0 has length 0/],
    ['data that does not fill the shape', '/v2/models/tensor/infer', { inputs: [{ ...X, data: [1, 2] }] }, 400, /inputs\[0\]\.data: has 2 elements but shape \[2, 3\] needs 6/],
    ['an unknown output', '/v2/models/tensor/infer', { inputs: [X], outputs: [{ name: 'logits' }] }, 400, /outputs\[0\]\.name: "logits" is not an output/],
    ['an unknown model', '/v2/models/nope/infer', { inputs: [X] }, 404, /unknown model "nope"/],
    ['an unknown graph', '/v2/models/pair.c/infer', { inputs: [X] }, 404, /no graph "c"/],
    ['an unknown version', '/v2/models/tensor/versions/2/infer', { inputs: [X] }, 404, /no version "2"/],
    ['a model that is not serving', '/v2/models/broken/infer', { inputs: [X] }, 503, /not serving: it failed to load/],
  ])("refuses %s in KServe's error shape", async (_, path, body, status, message) => {
    const { app, stub } = setup();
    await kserveError(await app.request(path, infer(body)), status, message);
    expect(stub.admission.count('tensor', 'request')).toBe(0);
  });

  it('answers inputs the graph itself rejects with 400 naming ONNX Runtime', async () => {
    const { app } = setup({}, { ...DOUBLER, run: () => Promise.reject(new Error('Got invalid dimensions for input: x')) });
    await kserveError(await app.request('/v2/models/tensor/infer', infer({ inputs: [X] })), 400, /tensor.doubler: ONNX Runtime rejected the inputs: Got invalid dimensions/);
  });

  it('refuses a body over --max-body-bytes with 413, and a tensor over --max-tensor-elements with 400', async () => {
    const { app } = setup({ limits: { maxBodyBytes: 1024, maxTensorElements: 4 } });
    await kserveError(await app.request('/v2/models/tensor/infer', infer({ inputs: [X], pad: 'x'.repeat(2000) })), 413, /body: larger than the limit of 1024 bytes/);
    await kserveError(await app.request('/v2/models/tensor/infer', infer({ inputs: [X] })), 400, /inputs\[0\]\.shape: 6 elements is over the limit of 4/);
  });

  it('refuses a request over --max-requests with 429 and Retry-After, and takes requests again once it ends', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { app, stub } = setup({ limits: { maxRequestsPerModel: 1 } }, gated(gate));
    const first = app.request('/v2/models/tensor/infer', infer({ inputs: [X] }));
    await new Promise((r) => setTimeout(r, 10));
    expect(stub.admission.count('tensor', 'request')).toBe(1);
    const refused = await app.request('/v2/models/tensor/infer', infer({ inputs: [X] }));
    expect(refused.headers.get('retry-after')).toBe('1');
    await kserveError(refused, 429, /"tensor" has 1 requests open, its limit/);
    open();
    expect((await first).status).toBe(200);
    expect(stub.admission.count('tensor', 'request')).toBe(0);
    expect((await app.request('/v2/models/tensor/infer', infer({ inputs: [X] }))).status).toBe(200);
  });
});

describe('model repository extension', () => {
  it('lists every folder with its state, and the reason of each that is not serving', async () => {
    const { app } = setup();
    const res = await app.request('/v2/repository/index', { method: 'POST' });
    expect(res.status).toBe(200);
    const index = await res.json();
    expect(index).toEqual([
      { name: 'added', version: '', state: 'unloaded', reason: expect.stringMatching(/added after start-up/) },
      { name: 'bad', version: '', state: 'unloaded', reason: expect.any(String) },
      { name: 'broken', version: '', state: 'failed', reason: expect.stringMatching(/graphs: is required/) },
      { name: 'pair', version: '1', state: 'ready' },
      { name: 'slots', version: '1', state: 'ready' },
      { name: 'tensor', version: '1', state: 'ready' },
    ]);
  });

  it('refuses load and unload with 503 naming the flag when model control is off; the model keeps serving', async () => {
    const { app } = setup();
    for (const action of ['load', 'unload']) {
      await kserveError(
        await app.request(`/v2/repository/models/tensor/${action}`, { method: 'POST' }),
        503,
        new RegExp(`model control is off: this server does not ${action} models on request; start it with --model-control explicit`),
      );
    }
    expect((await app.request('/v2/models/tensor/infer', infer({ inputs: [X] }))).status).toBe(200);
  });

  it('with --model-control explicit: unload (then 503 everywhere, with the reason), load again, load a new folder', async () => {
    const { app } = setup({ modelControl: 'explicit' });
    const unloaded = await app.request('/v2/repository/models/tensor/unload', { method: 'POST' });
    expect(unloaded.status).toBe(200);
    expect(await unloaded.json()).toEqual({ name: 'tensor', version: '', state: 'unloaded', reason: 'unloaded on request' });
    await kserveError(await app.request('/v2/models/tensor/infer', infer({ inputs: [X] })), 503, /"tensor" is not serving: it is unloaded/);
    await kserveError(await app.request('/v2/models/tensor'), 503, /is unloaded/);
    expect((await app.request('/v2/models/tensor/ready')).status).toBe(503);
    expect((await (await app.request('/v1/models')).json()).data.map((m: { id: string }) => m.id)).not.toContain('tensor');

    const loaded = await app.request('/v2/repository/models/tensor/load', { method: 'POST' });
    expect(loaded.status).toBe(200);
    expect(await loaded.json()).toEqual({ name: 'tensor', version: '1', state: 'ready' });
    expect((await app.request('/v2/models/tensor/infer', infer({ inputs: [X] }))).status).toBe(200);

    expect(await (await app.request('/v2/repository/models/added/load', { method: 'POST' })).json()).toEqual({ name: 'added', version: '1', state: 'ready' });
    expect((await app.request('/v2/models/added/ready')).status).toBe(200);
  });

  it('with --model-control explicit: 404 for no such folder or model, 400 naming why a folder fails to load', async () => {
    const { app } = setup({ modelControl: 'explicit' });
    await kserveError(await app.request('/v2/repository/models/nope/load', { method: 'POST' }), 404, /no model folder "nope"/);
    await kserveError(await app.request('/v2/repository/models/nope/unload', { method: 'POST' }), 404, /unknown model "nope"/);
    await kserveError(await app.request('/v2/repository/models/bad/load', { method: 'POST' }), 400, /model "bad" failed to load: .*file not found/);
    const index = await (await app.request('/v2/repository/index', { method: 'POST' })).json();
    expect(index.find((m: { name: string }) => m.name === 'bad')).toEqual({ name: 'bad', version: '', state: 'failed', reason: expect.stringMatching(/file not found/) });
  });

  it('with API keys, only admin keys load and unload (403 otherwise); every key reads the index', async () => {
    const user = 'user-key-0123456789';
    const admin = 'admin-key-0123456789';
    const { app } = setup({ modelControl: 'explicit', apiKeys: [user, { key: admin, admin: true }] });
    const as = (key: string) => ({ method: 'POST', headers: { authorization: `Bearer ${key}` } });
    await kserveError(await app.request('/v2/repository/models/tensor/unload', { method: 'POST' }), 401, /./);
    await kserveError(await app.request('/v2/repository/models/tensor/unload', as(user)), 403, /unloading a model needs an API key marked "admin"/);
    expect((await app.request('/v2/repository/index', as(user))).status).toBe(200);
    expect((await app.request('/v2/repository/models/tensor/unload', as(admin))).status).toBe(200);
    expect((await app.request('/v2/repository/models/tensor/load', as(admin))).status).toBe(200);
  });
});
