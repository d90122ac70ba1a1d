/**
 * A tensor with an axis of length 0 aborts onnxruntime-node's process ("terminate called without an
 * active exception"), taking every model down. For every graph of every model the server serves
 * (from its repository and KServe metadata, not a hand list) × every input × every axis set to 0,
 * plus batch 0 for all inputs at once, on each transport (REST JSON, the binary tensor extension,
 * gRPC ModelInfer and ModelStreamInfer): a 400 / INVALID_ARGUMENT naming the input and the axis,
 * and after each graph the server is still ready and still infers. One server for the whole file.
 * Also: inputs that share the batch dimension but disagree are refused naming both.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { SLOTS_DIR } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

interface Graph {
  name: string;
  inputs: TensorMeta[];
  /** The axis that stacks a batch, per input: the manifest's state batch axis, else 0. */
  batchAxis: Record<string, number>;
  /** A valid length for each input's variable dimensions (2, or the graph's minimum). */
  valid: Record<string, number[]>;
}

/** One request input: its shape and zero-filled data of that many elements. */
interface Input {
  name: string;
  datatype: string;
  shape: number[];
}

interface Case {
  what: string;
  inputs: Input[];
  /** The error must name this input and axis, in this request field. */
  expected: RegExp;
}

const BYTES_PER: Record<string, number> = { FP32: 4, INT64: 8, INT32: 4, FP64: 8, BOOL: 1, UINT8: 1, INT8: 1, FP16: 2, INT16: 2, UINT16: 2, UINT32: 4, UINT64: 8 };

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** JSON / typed values: ids 1 (inside every vocabulary), floats 0.5. */
const values = (datatype: string, n: number) => new Array<number>(n).fill(datatype.startsWith('FP') ? 0.5 : 1);

function rawBytes(datatype: string, n: number): Buffer {
  const size = BYTES_PER[datatype];
  if (!size) throw new Error(`no raw encoding for ${datatype} in this test`);
  const b = Buffer.alloc(n * size);
  for (let i = 0; i < n; i++) {
    if (datatype === 'FP32') b.writeFloatLE(0.5, i * 4);
    else if (datatype === 'FP64') b.writeDoubleLE(0.5, i * 8);
    else if (datatype === 'INT64') b.writeBigInt64LE(1n, i * 8);
    else if (datatype === 'INT32') b.writeInt32LE(1, i * 4);
    else b[i * size] = 1;
  }
  return b;
}

const TYPED_FIELD: Record<string, string> = { FP32: 'fp32_contents', FP64: 'fp64_contents', INT64: 'int64_contents', INT32: 'int_contents', BOOL: 'bool_contents' };

let server: Awaited<ReturnType<typeof startTestServer>>;
let grpc: ReturnType<typeof kserveGrpcClient>;
let graphs: Graph[] = [];

async function getJson(path: string, init?: RequestInit): Promise<any> {
  const res = await fetch(`${server.http}${path}`, init);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return res.json();
}

beforeAll(async () => {
  server = await startTestServer();
  grpc = kserveGrpcClient(server.grpc);
  // the served models from the repository index, their graphs from the repository, signatures from KServe metadata
  const index = (await getJson('/v2/repository/index', { method: 'POST' })) as { name: string; state: string }[];
  for (const { name } of index.filter((m) => m.state === 'ready')) {
    for (const graph of server.context.repository.model(name).graphs.values()) {
      const meta = (await getJson(`/v2/models/${graph.qualifiedName}`)) as { name: string; inputs: TensorMeta[]; parameters: { states: string; constants?: string } };
      const states = JSON.parse(meta.parameters.states) as { input: string; batchAxis: number }[];
      // inputs the server supplies (metadata's constants) are not the client's to send
      const constants = Object.keys(JSON.parse(meta.parameters.constants ?? '{}') as object);
      const inputs = meta.inputs.filter((i) => !constants.includes(i.name));
      const minimum = (input: string, axis: number) => graph.signature.minimums?.find((m) => m.input === input && m.axis === axis)?.length ?? 0;
      const batchAxis = Object.fromEntries(inputs.map((i) => [i.name, states.find((s) => s.input === i.name)?.batchAxis ?? 0]));
      // the manifest's warm-up shape where it gives one (a graph that needs more than 2 samples), with a batch of 2
      const warm = (i: TensorMeta) => graph.spec.warmupShapes?.[i.name]?.map((d, axis) => (axis === batchAxis[i.name] && i.shape[axis] < 0 ? 2 : d));
      graphs.push({
        name: meta.name,
        inputs,
        batchAxis,
        valid: Object.fromEntries(inputs.map((i) => [i.name, warm(i) ?? i.shape.map((d, axis) => (d >= 0 ? d : Math.max(2, minimum(i.name, axis))))])),
      });
    }
  }
}, 60_000);
afterAll(async () => {
  grpc?.close();
  await server?.close();
});

/** Every input × every axis set to 0 (others valid), and batch 0 for all inputs at once. */
function zeroCases(g: Graph): Case[] {
  const valid = () => g.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: [...g.valid[i.name]] }));
  const cases: Case[] = [];
  g.inputs.forEach((input, k) => {
    input.shape.forEach((_, axis) => {
      const inputs = valid();
      inputs[k].shape[axis] = 0;
      cases.push({ what: `${g.name} ${input.name}[axis ${axis}] = 0`, inputs, expected: new RegExp(`inputs\\[${k}\\]\\.shape: input "${input.name}" axis ${axis} has length 0`) });
    });
  });
  const batch0 = valid();
  for (const i of batch0) i.shape[g.batchAxis[i.name]] = 0;
  cases.push({
    what: `${g.name} batch 0`,
    inputs: batch0,
    expected: new RegExp(`inputs\\[0\\]\\.shape: input "${batch0[0].name}" axis ${g.batchAxis[batch0[0].name]} has length 0`),
  });
  return cases;
}

const validInputs = (g: Graph): Input[] => g.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: [...g.valid[i.name]] }));

const restJson = (model: string, inputs: Input[]) =>
  fetch(`${server.http}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: inputs.map((i) => ({ ...i, data: values(i.datatype, count(i.shape)) })) }),
  });

function restBinary(model: string, inputs: Input[]) {
  const blobs = inputs.map((i) => rawBytes(i.datatype, count(i.shape)));
  const header = Buffer.from(JSON.stringify({ inputs: inputs.map((i, k) => ({ ...i, parameters: { binary_data_size: blobs[k].length } })) }));
  return fetch(`${server.http}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, ...blobs]),
  });
}

const grpcRaw = (model: string, inputs: Input[], id = '') => ({
  model_name: model,
  id,
  inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape.map(String) })),
  raw_input_contents: inputs.map((i) => rawBytes(i.datatype, count(i.shape))),
});

const grpcTyped = (model: string, inputs: Input[], id = '') => ({
  model_name: model,
  id,
  inputs: inputs.map((i) => ({
    name: i.name,
    datatype: i.datatype,
    shape: i.shape.map(String),
    contents: { [TYPED_FIELD[i.datatype]]: values(i.datatype, count(i.shape)).map((v) => (i.datatype === 'INT64' ? String(v) : v)) },
  })),
});

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => {
      throw new Error('expected a gRPC error');
    },
    (err: ServiceError) => err,
  );
}

/** Ready over REST and gRPC, and a valid infer of `g` over both. */
async function stillServing(g: Graph, after: string): Promise<void> {
  expect((await fetch(`${server.http}/v2/health/ready`)).status, `ready after ${after}`).toBe(200);
  expect(await grpc.serverReady({}), `gRPC ready after ${after}`).toEqual({ ready: true });
  const res = await restJson(g.name, validInputs(g));
  expect(res.status, `valid infer of ${g.name} after ${after}: ${await res.clone().text()}`).toBe(200);
  expect((await res.json()).outputs.length).toBeGreaterThan(0);
  const out = await grpc.modelInfer(grpcRaw(g.name, validInputs(g)));
  expect(out.outputs.length).toBeGreaterThan(0);
}

describe('zero-size tensors: every graph × input × axis, on every transport', () => {
  it('the matrix covers every graph of every bundled model', () => {
    const models = new Set(graphs.map((g) => g.name.split('.')[0]));
    expect([...models].sort()).toEqual(expect.arrayContaining(['asr', 'caption', 'chat', 'slots', 'speech_qa']));
    expect(graphs.length).toBeGreaterThanOrEqual(7);
    expect(graphs.flatMap(zeroCases).length).toBeGreaterThan(50);
  });

  it('REST JSON: 400 naming the input and the axis; the server keeps serving', async () => {
    for (const g of graphs) {
      for (const c of zeroCases(g)) {
        const res = await restJson(g.name, c.inputs);
        const body = await res.json();
        expect({ what: c.what, status: res.status, error: body.error }).toMatchObject({ status: 400, error: expect.stringMatching(c.expected) });
      }
      await stillServing(g, `REST JSON ${g.name}`);
    }
  });

  it('REST binary tensor extension: 400 naming the input and the axis; the server keeps serving', async () => {
    for (const g of graphs) {
      for (const c of zeroCases(g)) {
        const res = await restBinary(g.name, c.inputs);
        const body = await res.json();
        expect({ what: c.what, status: res.status, error: body.error }).toMatchObject({ status: 400, error: expect.stringMatching(c.expected) });
      }
      await stillServing(g, `REST binary ${g.name}`);
    }
  });

  it('gRPC ModelInfer (raw_input_contents): INVALID_ARGUMENT naming the input and the axis; the server keeps serving', async () => {
    for (const g of graphs) {
      for (const c of zeroCases(g)) {
        const err = await grpcError(grpc.modelInfer(grpcRaw(g.name, c.inputs)));
        expect({ what: c.what, code: status[err.code], details: err.details }).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringMatching(c.expected) });
      }
      await stillServing(g, `gRPC ModelInfer ${g.name}`);
    }
  });

  it('gRPC ModelStreamInfer (typed contents): in-band error_message naming the input and the axis; the stream and the server keep serving', async () => {
    for (const g of graphs) {
      const cases = zeroCases(g);
      const stream = grpc.streamInfer();
      const responses: { error_message: string; infer_response: { id: string; outputs: unknown[] } }[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on('data', (r: (typeof responses)[number]) => responses.push(r));
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      cases.forEach((c, k) => stream.write(grpcTyped(g.name, c.inputs, `z${k}`)));
      stream.write(grpcTyped(g.name, validInputs(g), 'valid')); // the same stream still infers
      stream.end();
      await done;
      expect(responses).toHaveLength(cases.length + 1);
      cases.forEach((c, k) => {
        const r = responses.find((x) => x.infer_response.id === `z${k}`);
        expect({ what: c.what, error: r?.error_message }).toMatchObject({ error: expect.stringMatching(c.expected) });
      });
      const valid = responses.find((x) => x.infer_response.id === 'valid');
      expect(valid?.error_message, `valid infer of ${g.name} on the stream`).toBe('');
      expect(valid?.infer_response.outputs.length).toBeGreaterThan(0);
      await stillServing(g, `gRPC ModelStreamInfer ${g.name}`);
    }
  });
});

describe('inputs sharing the batch dimension must agree', () => {
  /** The decoder's valid inputs at batch 2, with one state input at batch 1. */
  const decoderCase = (model: string, state: string) => {
    const g = graphs.find((x) => x.name === `${model}.decoder`)!;
    const inputs = validInputs(g);
    const s = inputs.find((i) => i.name === state)!;
    s.shape[g.batchAxis[state]] = 1;
    return { g, inputs, k: inputs.indexOf(s) };
  };

  for (const [model, state] of [
    ['chat', 'h_in'],
    ['caption', 'c_in'],
  ] as const) {
    it(`${model}.decoder: a state "${state}" with batch 1 beside batch 2 is refused naming both inputs, on REST and gRPC`, async () => {
      const { g, inputs, k } = decoderCase(model, state);
      const first = inputs[0].name; // prev_token [batch]
      const message = new RegExp(`inputs\\[${k}\\]\\.shape: inputs "${first}" \\(axis 0 = 2\\) and "${state}" \\(axis 1 = 1\\) share the batch dimension "batch" but disagree`);
      const res = await restJson(g.name, inputs);
      expect({ status: res.status, error: (await res.json()).error }).toMatchObject({ status: 400, error: expect.stringMatching(message) });
      const err = await grpcError(grpc.modelInfer(grpcRaw(g.name, inputs)));
      expect({ code: status[err.code], details: err.details }).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringMatching(message) });
      await stillServing(g, `${g.name} batch mismatch`);
    });
  }
});

describe('warm-up goes through the same check', () => {
  it("a manifest warmupShape with a zero-length axis fails that model's load with a message naming the input and axis", async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'seqserve-zero-warmup-'));
    try {
      cpSync(SLOTS_DIR, path.join(root, 'slots'), { recursive: true });
      const manifest = JSON.parse(readFileSync(path.join(SLOTS_DIR, 'manifest.json'), 'utf8'));
      manifest.graphs.tagger.warmupShapes = { word_ids: [1, 0] };
      writeFileSync(path.join(root, 'slots', 'manifest.json'), JSON.stringify(manifest));
      const other = await startTestServer({ modelsDir: root });
      try {
        const index = (await (await fetch(`${other.http}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
        // the manifest check refuses it first; without it, the warm-up run's feed check would (server/runtime/loaded-graph.test.ts)
        expect(index.find((m) => m.name === 'slots')).toMatchObject({
          state: 'failed',
          reason: expect.stringMatching(
            /warmupShapes\.word_ids\[1\]: dimensions are at least 1|warm-up run of graph "tagger" failed: slots\.tagger: input "word_ids" axis 1 has length 0/,
          ),
        });
      } finally {
        await other.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
