/**
 * Dynamic batching through the real server (issue 18, item 2): concurrent KServe infers (REST and
 * gRPC) and /v1/slots requests to the bundled slot tagger share runs, each answer is bit-identical
 * to the tagger run alone, /metrics shows batches of more than one row, and a bad request in a
 * concurrent burst fails alone naming its own field. A fixture graph with a lengths input
 * (test/fixtures/make_padded_model.py) shows padding: requests of different lengths share a batch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../server/config.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { SLOTS_DIR, slotTaggerInputs, type KServeInput } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let session: ort.InferenceSession;

// 6 words each, and sentences of 3 to 10 words
const SAME_LENGTH = [
  'I want to fly to Boston',
  'leave Taipei on November 2nd please',
  'show me flights from Denver',
  'what is the cheapest fare',
  'book a seat to Seattle tomorrow',
  'arrive in Tokyo on Monday',
  'list flights from Dallas tonight',
  'I need a return ticket',
];
const OTHER_LENGTHS = [
  'fly to Paris',
  'from Boston to Denver',
  'I would like to arrive Taipei on November 2nd',
  'show me the morning flights',
  'leave tomorrow',
  'what flights go from Pittsburgh to Atlanta on Friday',
  'cheapest one way fare to Miami',
];

beforeAll(async () => {
  // the slot model alone (its folder as the repository); a 5 ms queue delay so concurrent requests surely meet
  server = await startTestServer({ modelsDir: SLOTS_DIR, dynamicBatching: { ...DEFAULT_CONFIG.dynamicBatching, maxQueueDelayMicroseconds: 5000 } });
  session = await ort.InferenceSession.create(path.join(SLOTS_DIR, 'tagger.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
});
afterAll(async () => {
  await server?.close();
  await session?.release();
});

/** The tagger's emissions for one request, run alone in this process (the unbatched answer). */
async function alone(inputs: KServeInput[]): Promise<number[]> {
  const feeds = Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor('int64', BigInt64Array.from(i.data, BigInt), i.shape)]));
  return Array.from((await session.run(feeds)).emissions.data as Float32Array);
}

async function restInfer(base: string, inputs: KServeInput[]): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v2/models/slots.tagger/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) });
  return { status: res.status, body: await res.json() };
}

/** Count and row sum of seqserve_batch_size for the tagger. */
async function batchSizes(base: string): Promise<{ count: number; sum: number; ones: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (...parts: string[]) =>
    Number(
      text
        .split('\n')
        .find((l) => parts.every((p) => l.includes(p)))
        ?.split(' ')
        .at(-1) ?? 0,
    );
  const tagger = 'model="slots.tagger"';
  const sizes = {
    count: value('seqserve_batch_size_count{', tagger),
    sum: value('seqserve_batch_size_sum{', tagger),
    ones: value('seqserve_batch_size_bucket{', 'le="1"', tagger),
  };
  if (sizes.count > 0) expect(text).toMatch(/seqserve_batch_size_bucket\{[^}]*le="1"[^}]*\} \d+/);
  return sizes;
}

describe('dynamic batching of the slot tagger', () => {
  it('concurrent KServe infers (REST and gRPC) of the same and of different lengths get exactly the unbatched answers, in batches of more than one', async () => {
    const before = await batchSizes(server.http);
    const sentences = [...SAME_LENGTH, ...OTHER_LENGTHS, ...SAME_LENGTH];
    const grpc = kserveGrpcClient(server.grpc);
    try {
      const requests = sentences.map(async (text, i) => {
        const inputs = slotTaggerInputs(text);
        if (i % 3 === 2) {
          const res = await grpc.modelInfer({
            model_name: 'slots.tagger',
            inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, contents: { int64_contents: t.data } })),
          });
          const out = res.outputs[0];
          return { text, shape: out.shape.map(Number), data: Array.from(new Float32Array(Uint8Array.from(res.raw_output_contents[0]).buffer)), inputs };
        }
        const { status, body } = await restInfer(server.http, inputs);
        expect(status, JSON.stringify(body)).toBe(200);
        return { text, shape: body.outputs[0].shape as number[], data: body.outputs[0].data as number[], inputs };
      });
      for (const r of await Promise.all(requests)) {
        expect(r.shape, r.text).toEqual([1, r.inputs[0].shape[1], 21]);
        expect(r.data, r.text).toEqual(await alone(r.inputs)); // bit-identical
      }
    } finally {
      grpc.close();
    }
    const after = await batchSizes(server.http);
    const runs = after.count - before.count;
    const rows = after.sum - before.sum;
    expect(rows).toBe(sentences.length);
    expect(runs).toBeLessThan(sentences.length); // some runs held more than one request
    expect(after.ones - before.ones).toBeLessThan(runs); // batches > 1 in the histogram
  });

  it('POST /v1/slots answers the same concurrently as one at a time, its tagger runs batched', async () => {
    const slots = async (text: string) => (await fetch(`${server.http}/v1/slots`, { method: 'POST', body: JSON.stringify({ text }) })).json();
    /** The batch counts once `rows` more rows have reached /metrics (calls run in an executor thread, which reports every ~50 ms). */
    const counted = async (since: { sum: number }, rows: number) => {
      let now = await batchSizes(server.http);
      for (let i = 0; i < 60 && now.sum - since.sum < rows; i++) {
        await new Promise((r) => setTimeout(r, 50));
        now = await batchSizes(server.http);
      }
      return now;
    };
    const start = await batchSizes(server.http);
    const sequential = [];
    for (const text of SAME_LENGTH) sequential.push(await slots(text));
    const before = await counted(start, SAME_LENGTH.length);
    expect(before.count - start.count).toBe(SAME_LENGTH.length); // one at a time: a run each
    const concurrent = await Promise.all(SAME_LENGTH.map(slots));
    expect(concurrent).toEqual(sequential);
    const after = await counted(before, SAME_LENGTH.length);
    expect(after.sum - before.sum).toBe(SAME_LENGTH.length);
    expect(after.count - before.count).toBeLessThan(SAME_LENGTH.length); // fewer runs than requests
  });

  it('a request with a bad shape in a concurrent burst fails alone with 400 naming its field', async () => {
    const good = SAME_LENGTH.map((t) => slotTaggerInputs(t));
    const bad = slotTaggerInputs('fly to Paris');
    // ngram_ids says 4 tokens, word_ids 3: they share the dimension "tokens"
    const broken = [bad[0], { ...bad[1], shape: [1, 4, 24], data: [...bad[1].data, ...new Array<number>(24).fill(0)] }, bad[2]];
    const results = await Promise.all([...good.slice(0, 4), broken, ...good.slice(4)].map((inputs) => restInfer(server.http, inputs)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 400, 200, 200, 200, 200]);
    expect(results[4].body.error).toMatch(/^inputs\[1\]\.shape: /);
    for (const [i, inputs] of good.entries()) expect(results[i < 4 ? i : i + 1].body.outputs[0].data).toEqual(await alone(inputs));
  });

  it('a request that the runtime refuses inside a batch fails alone (400), the others of its batch succeed', async () => {
    const good = SAME_LENGTH.map((t) => slotTaggerInputs(t));
    // same shape as the others (so it joins their batch), but a word id far outside the embedding
    const bad = good[0].map((t, i) => (i === 0 ? { ...t, data: [10_000_000, ...t.data.slice(1)] } : t));
    const before = await batchSizes(server.http);
    const results = await Promise.all([...good.slice(0, 3), bad, ...good.slice(3)].map((inputs) => restInfer(server.http, inputs)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 400, 200, 200, 200, 200, 200]);
    expect(results[3].body.error).toMatch(/ONNX Runtime rejected the inputs/);
    for (const [i, inputs] of good.entries()) expect(results[i < 3 ? i : i + 1].body.outputs[0].data).toEqual(await alone(inputs));
    const after = await batchSizes(server.http);
    expect(after.count - before.count).toBeLessThan(results.length); // the bad one was in a batch
  });

  it('KServe metadata reports how the graph is batched', async () => {
    const meta = await (await fetch(`${server.http}/v2/models/slots.tagger`)).json();
    expect(JSON.parse(meta.parameters.dynamic_batching)).toEqual({ max_batch_size: 64, max_queue_delay_microseconds: 5000, preferred_batch_sizes: [] });
  });

  it('--dynamic-batching off runs every request alone', async () => {
    const off = await startTestServer({ modelsDir: SLOTS_DIR, dynamicBatching: { ...DEFAULT_CONFIG.dynamicBatching, enabled: false } });
    try {
      const results = await Promise.all(SAME_LENGTH.map((t) => restInfer(off.http, slotTaggerInputs(t))));
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect((await batchSizes(off.http)).count).toBe(0);
      expect((await (await fetch(`${off.http}/v2/models/slots.tagger`)).json()).parameters.dynamic_batching).toBe('null');
    } finally {
      await off.close();
    }
  });
});

describe('dynamic batching with padding (a graph with a lengths input)', () => {
  let root: string;
  let padded: Server;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'seqserve-padded-'));
    execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'fixtures', 'make_padded_model.py'), root]);
    padded = await startTestServer({ modelsDir: root });
  });
  afterAll(async () => {
    await padded?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const infer = async (x: number[]) => {
    const res = await fetch(`${padded.http}/v2/models/padded-sum/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, x.length], data: x },
          { name: 'lengths', datatype: 'INT64', shape: [1], data: [x.length] },
        ],
      }),
    });
    return { status: res.status, body: await res.json() };
  };

  it('requests of different lengths share one batch, padded, and each gets outputs of its own length', async () => {
    const text = async () => (await fetch(`${padded.http}/metrics`)).text();
    const rows = [[1, 2], [3, 4, 5, 6, 7], [0.5], [10, 20, 30]];
    const results = await Promise.all(rows.map(infer));
    for (const [i, x] of rows.entries()) {
      expect(results[i].status, JSON.stringify(results[i].body)).toBe(200);
      const [y, total] = results[i].body.outputs;
      expect(y).toMatchObject({ name: 'y', shape: [1, x.length], data: x.map((v) => 2 * v) });
      expect(total).toMatchObject({ name: 'total', shape: [1], data: [x.reduce((a, v) => a + v, 0)] });
    }
    // the manifest's preferred size 4 was reached: one run of 4 rows, though no two lengths agree
    const metrics = await text();
    expect(metrics).toContain('seqserve_batch_size_count{model="padded-sum.model"} 1');
    expect(metrics).toContain('seqserve_batch_size_sum{model="padded-sum.model"} 4');
    const meta = await (await fetch(`${padded.http}/v2/models/padded-sum`)).json();
    expect(JSON.parse(meta.parameters.dynamic_batching)).toEqual({ max_batch_size: 64, max_queue_delay_microseconds: 20000, preferred_batch_sizes: [4], pad: { x: 0 } });
  });

  it('a manifest whose pad names an input the graph lacks fails that model, naming the field', async () => {
    const index = (await (await fetch(`${padded.http}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
    const bad = index.find((m) => m.name === 'bad-pad');
    expect(bad?.state).toBe('failed');
    expect(bad?.reason).toMatch(/manifest\.json: graphs\.model\.dynamicBatching\.pad\.values: graph "model" has no input "tokens" \(inputs: x, lengths\)/);
  });
});
