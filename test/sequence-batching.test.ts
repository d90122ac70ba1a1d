/**
 * Server-held state for a recurrent graph (issue 19, Triton's sequence batcher with implicit state)
 * through the real server: an LSTM step exported from PyTorch in the test
 * (test/fixtures/make_stateful_lstm.py); interleaved sequences over REST, gRPC ModelInfer and
 * ModelStreamInfer give PyTorch's outputs for whole sequences and the outputs of the same steps
 * with the state sent by the client; states never leak between sequences; bad ids are refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { startTestServer } from './helpers/test-server.ts';

interface Reference {
  sequences: { inputs: number[][]; outputs: number[][] }[];
}

let root: string;
let reference: Reference;
let server: Awaited<ReturnType<typeof startTestServer>>;
let grpc: ReturnType<typeof kserveGrpcClient>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-sequences-'));
  execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'fixtures', 'make_stateful_lstm.py'), root], { stdio: 'ignore' });
  reference = JSON.parse(readFileSync(path.join(root, 'reference.json'), 'utf8')) as Reference;
  rmSync(path.join(root, 'reference.json'));
  server = await startTestServer({ modelsDir: root });
  grpc = kserveGrpcClient(server.grpc);
}, 120_000);
afterAll(async () => {
  grpc?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

type Parameters = Record<string, number | string | boolean>;

async function rest(model: string, inputs: object[], parameters?: Parameters, outputs?: string[]): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.http}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs, ...(parameters ? { parameters } : {}), ...(outputs ? { outputs: outputs.map((name) => ({ name })) } : {}) }),
  });
  return { status: res.status, body: await res.json() };
}

const x = (v: number[]) => ({ name: 'x', datatype: 'FP32', shape: [1, 1, 4], data: v });
const step = (s: number, t: number): Parameters => ({ sequence_id: s + 1, sequence_start: t === 0, sequence_end: t === reference.sequences[s].inputs.length - 1 });
const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 5));

describe('sequence batcher over REST', () => {
  it("gives PyTorch's outputs for interleaved sequences of different lengths, steps of different sequences batched together", async () => {
    const longest = Math.max(...reference.sequences.map((s) => s.inputs.length));
    for (let t = 0; t < longest; t++) {
      // every unfinished sequence's step t at once, in a shuffled order
      const live = reference.sequences.map((s, i) => i).filter((i) => t < reference.sequences[i].inputs.length);
      live.sort((a, b) => ((a * 7 + t) % 5) - ((b * 7 + t) % 5));
      const answers = await Promise.all(live.map((s) => rest('lstm-step', [x(reference.sequences[s].inputs[t])], step(s, t))));
      answers.forEach((a, k) => {
        expect(a.status).toBe(200);
        // state outputs are the server's: not returned unless asked for
        expect(a.body.outputs.map((o: { name: string }) => o.name)).toEqual(['y']);
        close(a.body.outputs[0].data, reference.sequences[live[k]].outputs[t]);
      });
    }
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    const sum = Number(/seqserve_batch_size_sum\{model="lstm-step.step"\} (\d+)/.exec(metrics)?.[1]);
    const count = Number(/seqserve_batch_size_count\{model="lstm-step.step"\} (\d+)/.exec(metrics)?.[1]);
    expect(sum).toBe(reference.sequences.reduce((a, s) => a + s.inputs.length, 0));
    expect(count).toBeLessThan(sum);
  });

  it('gives the same outputs as sending the state back on every call', async () => {
    const seq = reference.sequences[1];
    let h = new Array(8).fill(0);
    let c = new Array(8).fill(0);
    for (let t = 0; t < seq.inputs.length; t++) {
      const state = (name: string, v: number[]) => ({ name, datatype: 'FP32', shape: [1, 1, 8], data: v });
      const fed = await rest('lstm-step', [x(seq.inputs[t]), state('h_in', h), state('c_in', c)]);
      const held = await rest('lstm-step', [x(seq.inputs[t])], { sequence_id: 'client-vs-server', sequence_start: t === 0, sequence_end: t === seq.inputs.length - 1 }, [
        'y',
        'h_out',
      ]);
      const out = (body: any, name: string) => body.outputs.find((o: { name: string }) => o.name === name).data as number[];
      expect(out(held.body, 'y')).toEqual(out(fed.body, 'y'));
      expect(out(held.body, 'h_out')).toEqual(out(fed.body, 'h_out'));
      h = out(fed.body, 'h_out');
      c = out(fed.body, 'c_out');
    }
  });

  it('refuses unknown, reused, ended and expired ids, malformed parameters and state from the client, naming the field; sheds starts past the limit', async () => {
    const v = reference.sequences[0].inputs[0];
    const refused = async (model: string, inputs: object[], parameters: Parameters, pattern: RegExp) => {
      const r = await rest(model, inputs, parameters);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toMatch(pattern);
    };
    await refused('lstm-step', [x(v)], { sequence_id: 999 }, /parameters\.sequence_id: sequence 999 of lstm-step\.step is not live/);
    expect((await rest('lstm-step', [x(v)], { sequence_id: 500, sequence_start: true })).status).toBe(200);
    await refused('lstm-step', [x(v)], { sequence_id: 500, sequence_start: true }, /parameters\.sequence_start: .*already live/);
    expect((await rest('lstm-step', [x(v)], { sequence_id: 500, sequence_end: true })).status).toBe(200);
    await refused('lstm-step', [x(v)], { sequence_id: 500 }, /not live/);
    await refused(
      'lstm-step',
      [x(v), { name: 'h_in', datatype: 'FP32', shape: [1, 1, 8], data: new Array(8).fill(0) }],
      { sequence_id: 501, sequence_start: true },
      /"h_in" is state/,
    );
    await refused('lstm-step', [x(v)], { sequence_id: 0, sequence_start: true }, /parameters\.sequence_id: must be a positive integer/);
    await refused('lstm-step', [x(v)], { sequence_id: 502, sequence_start: 'yes' }, /parameters\.sequence_start: must be true or false/);
    // without sequence_id the client must send the state, and is told it could let the server hold it
    await refused('lstm-step', [x(v)], {}, /missing input\(s\) h_in, c_in .*sequence_id/);
    // expiry (300 ms idle) and the live-sequence limit (3)
    expect((await rest('lstm-step-idle', [x(v)], { sequence_id: 1, sequence_start: true })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 700));
    await refused('lstm-step-idle', [x(v)], { sequence_id: 1 }, /sequence 1 of lstm-step-idle\.step expired after \d+ ms/);
    for (const id of [2, 3, 4]) expect((await rest('lstm-step-idle', [x(v)], { sequence_id: id, sequence_start: true })).status).toBe(200);
    const over = await rest('lstm-step-idle', [x(v)], { sequence_id: 5, sequence_start: true });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatch(/3 live sequences, its limit/);
  });
});

describe('sequence batcher over gRPC', () => {
  const grpcX = (v: number[]) => ({ name: 'x', datatype: 'FP32', shape: [1, 1, 4], contents: { fp32_contents: v } });
  const params = (id: number | string, start: boolean, end: boolean) => ({
    sequence_id: typeof id === 'number' ? { int64_param: String(id) } : { string_param: id },
    sequence_start: { bool_param: start },
    sequence_end: { bool_param: end },
  });
  const y = (res: { raw_output_contents: Buffer[] }) => Array.from(new Float32Array(new Uint8Array(res.raw_output_contents[0]).buffer));

  it('ModelInfer with integer and string ids gives PyTorch outputs', async () => {
    for (const [k, id] of [
      [3, 77],
      [4, 'grpc-seq'],
    ] as const) {
      const seq = reference.sequences[k];
      for (let t = 0; t < seq.inputs.length; t++) {
        const res = await grpc.modelInfer({ model_name: 'lstm-step', inputs: [grpcX(seq.inputs[t])], parameters: params(id, t === 0, t === seq.inputs.length - 1) });
        close(y(res), seq.outputs[t]);
      }
    }
  });

  it('ModelStreamInfer carries a sequence over one stream, with an error response for a bad step', async () => {
    const seq = reference.sequences[0];
    const call = grpc.streamInfer();
    const responses: { error_message: string; infer_response: { raw_output_contents: Buffer[] } | null }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (r: (typeof responses)[number]) => responses.push(r));
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (let t = 0; t < seq.inputs.length; t++) {
      call.write({ model_name: 'lstm-step', inputs: [grpcX(seq.inputs[t])], parameters: params(9000, t === 0, t === seq.inputs.length - 1) });
      await new Promise((r) => setTimeout(r, 20));
    }
    call.write({ model_name: 'lstm-step', inputs: [grpcX(seq.inputs[0])], parameters: params(9000, false, false) });
    call.end();
    await done;
    expect(responses).toHaveLength(seq.inputs.length + 1);
    responses.slice(0, -1).forEach((r, t) => close(y(r.infer_response!), seq.outputs[t]));
    expect(responses.at(-1)!.error_message).toMatch(/sequence 9000 of lstm-step\.step is not live/);
  });
});
