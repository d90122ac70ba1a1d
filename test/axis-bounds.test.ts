/**
 * Upper bounds of input axes: a recurrent graph's memory grows with its input's length (chat.encoder
 * took 1.1 GB for 100k tokens, well within the tensor-element and body limits), so every input axis
 * has a bound, checked by the feed check before the graph runs. Over REST JSON, the binary extension
 * and gRPC ModelInfer: the chat encoder's tokens are held to generation.maxSourceTokens (what the
 * chat endpoint feeds it), a generic model's axes to its manifest's maxShapes, else to the server's
 * --max-axis-length; a refused request is 400 / INVALID_ARGUMENT naming input, axis, length, bound
 * and where the bound comes from. KServe metadata reports the bounds. Fixture graphs are made at
 * test time (test/fixtures/make_bounded_gru.py).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_AXIS_LENGTH } from '../server/core/feed-check.ts';
import { binaryBody } from '../server/core/kserve-binary.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { startTestServer } from './helpers/test-server.ts';

const MODELS = path.join(import.meta.dirname, '..', 'models');
const MAX_SOURCE_TOKENS = 100; // models/chat/manifest.json generation.maxSourceTokens

let root: string;
let server: Awaited<ReturnType<typeof startTestServer>>;
let grpc: ReturnType<typeof kserveGrpcClient>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-bounds-'));
  cpSync(path.join(MODELS, 'chat'), path.join(root, 'chat'), { recursive: true });
  execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'fixtures', 'make_bounded_gru.py'), root]);
  server = await startTestServer({ modelsDir: root });
  grpc = kserveGrpcClient(server.grpc);
}, 120_000);
afterAll(async () => {
  grpc?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Token ids 1..n-ish (inside every vocabulary here) for an INT64 input of `shape`. */
const ids = (shape: number[]) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => 4 + (i % 40));

/** One INT64 input over a transport: the status (HTTP, or gRPC's code) and the error message or output shape. */
async function infer(
  transport: 'json' | 'binary' | 'grpc',
  model: string,
  input: string,
  shape: number[],
): Promise<{ ok: boolean; code: number; error?: string; shape?: number[] }> {
  const data = ids(shape);
  if (transport === 'grpc') {
    return grpc
      .modelInfer({
        model_name: model,
        inputs: [{ name: input, datatype: 'INT64', shape: shape.map(String) }],
        raw_input_contents: [Buffer.from(BigInt64Array.from(data, BigInt).buffer)],
      })
      .then(
        (res: { outputs: { shape: string[] }[] }) => ({ ok: true, code: status.OK, shape: res.outputs[0].shape.map(Number) }),
        (e: ServiceError) => ({ ok: false, code: e.code, error: e.details }),
      );
  }
  let res: Response;
  if (transport === 'json') {
    res = await fetch(`${server.http}/v2/models/${model}/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: input, datatype: 'INT64', shape, data }], parameters: { binary_data_output: true } }),
    });
  } else {
    const raw = new Uint8Array(BigInt64Array.from(data, BigInt).buffer);
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: input, datatype: 'INT64', shape, parameters: { binary_data_size: raw.byteLength } }], parameters: { binary_data_output: true } },
      [raw],
    );
    res = await fetch(`${server.http}/v2/models/${model}/infer`, {
      method: 'POST',
      body,
      headers: { 'Inference-Header-Content-Length': String(headerLength), 'content-type': 'application/octet-stream' },
    });
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) return { ok: false, code: res.status, error: (JSON.parse(new TextDecoder().decode(bytes)) as { error: string }).error };
  const n = Number(res.headers.get('inference-header-content-length'));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, n))) as { outputs: { shape: number[] }[] };
  return { ok: true, code: res.status, shape: header.outputs[0].shape };
}

const TRANSPORTS = ['json', 'binary', 'grpc'] as const;
/** The client-error status of each transport. */
const INVALID = { json: 400, binary: 400, grpc: status.INVALID_ARGUMENT };

describe('upper bounds of input axes', () => {
  it.each(TRANSPORTS)(
    '%s: chat.encoder takes generation.maxSourceTokens tokens and refuses one more',
    async (transport) => {
      const fits = await infer(transport, 'chat.encoder', 'src_tokens', [1, MAX_SOURCE_TOKENS]);
      expect(fits).toMatchObject({ ok: true, shape: [1, MAX_SOURCE_TOKENS, 257] });
      const over = await infer(transport, 'chat.encoder', 'src_tokens', [1, MAX_SOURCE_TOKENS + 1]);
      expect(over.code).toBe(INVALID[transport]);
      expect(over.error).toBe(
        `inputs[0].shape: input "src_tokens" axis 1 has length ${MAX_SOURCE_TOKENS + 1}; at most ${MAX_SOURCE_TOKENS} (generation.maxSourceTokens of model chat)`,
      );
      // the request that took 1.1 GB before: refused at once
      const huge = await infer(transport, 'chat.encoder', 'src_tokens', [1, 100_000]);
      expect(huge.code).toBe(INVALID[transport]);
      expect(huge.error).toMatch(/axis 1 has length 100000; at most 100 \(generation\.maxSourceTokens of model chat\)$/);
      // the batch: at most the requests the chat endpoint encodes together
      const batch = await infer(transport, 'chat.encoder', 'src_tokens', [257, 2]);
      expect(batch.error).toBe('inputs[0].shape: input "src_tokens" axis 0 has length 257; at most 256 (the requests model chat encodes together)');
    },
    60_000,
  );

  it('chat.decoder: its memory is held to the source length and its batch to the sequences decoded together', async () => {
    const res = await fetch(`${server.http}/v2/models/chat.decoder/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [
          { name: 'prev_token', datatype: 'INT64', shape: [1], data: [1] },
          { name: 'h_in', datatype: 'FP32', shape: [1, 1, 256], data: new Array(256).fill(0) },
          { name: 'context_proj', datatype: 'FP32', shape: [1, 101, 257], data: new Array(101 * 257).fill(0) },
          { name: 'keys', datatype: 'FP32', shape: [1, 101, 256], data: new Array(101 * 256).fill(0) },
          { name: 'src_mask', datatype: 'FP32', shape: [1, 101], data: new Array(101).fill(1) },
          { name: 'src_ids', datatype: 'FP32', shape: [1, 101], data: new Array(101).fill(4) },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(
      'inputs[2].shape: input "context_proj" axis 1 has length 101; at most 100 (generation.maxSourceTokens of model chat)',
    );
  });

  it.each(TRANSPORTS)(
    "%s: a generic model's maxShapes replaces the server's default bound",
    async (transport) => {
      // 300 tokens: past the server's default, within the manifest's own bound
      expect(await infer(transport, 'gru-bounded', 'token_ids', [1, 300])).toMatchObject({ ok: true, shape: [1, 1, 8] });
      const long = await infer(transport, 'gru-bounded', 'token_ids', [1, 301]);
      expect(long.code).toBe(INVALID[transport]);
      expect(long.error).toBe('inputs[0].shape: input "token_ids" axis 1 has length 301; at most 300 (graphs.classifier.maxShapes of model gru-bounded)');
      const wide = await infer(transport, 'gru-bounded', 'token_ids', [5, 2]);
      expect(wide.error).toBe('inputs[0].shape: input "token_ids" axis 0 has length 5; at most 4 (graphs.classifier.maxShapes of model gru-bounded)');
    },
    60_000,
  );

  it.each(TRANSPORTS)(
    "%s: without maxShapes, a generic model's symbolic axes are held to --max-axis-length",
    async (transport) => {
      const n = DEFAULT_MAX_AXIS_LENGTH;
      expect(await infer(transport, 'gru-default', 'token_ids', [1, n])).toMatchObject({ ok: true, shape: [1, 1, 8] });
      const long = await infer(transport, 'gru-default', 'token_ids', [1, n + 1]);
      expect(long.code).toBe(INVALID[transport]);
      expect(long.error).toBe(
        `inputs[0].shape: input "token_ids" axis 1 has length ${n + 1}; at most ${n} (--max-axis-length, the server's bound on a symbolic axis; graphs.classifier.maxShapes in model gru-default's manifest sets the graph's own)`,
      );
      expect((await infer(transport, 'gru-default', 'token_ids', [n + 1, 1])).error).toMatch(/input "token_ids" axis 0 has length 129; at most 128 \(--max-axis-length/);
    },
    60_000,
  );

  it('a maxShapes naming an input the graph lacks fails the model, naming the file and the field', async () => {
    const index = (await (await fetch(`${server.http}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
    expect(index.find((m) => m.name === 'gru-bad-bound')).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/gru-bad-bound\/manifest\.json: graphs\.classifier\.maxShapes: graph "classifier" has no input "tokens" \(inputs: token_ids\)$/),
    });
    expect(index.filter((m) => m.state === 'ready').map((m) => m.name)).toEqual(['chat', 'gru-bounded', 'gru-default']);
  });

  it('KServe metadata reports the bounds in parameters.max_shapes', async () => {
    const meta = async (model: string) =>
      JSON.parse(((await (await fetch(`${server.http}/v2/models/${model}`)).json()) as { parameters: { max_shapes: string } }).parameters.max_shapes);
    expect(await meta('chat.encoder')).toEqual({ src_tokens: [256, 100] });
    expect(await meta('chat.decoder')).toMatchObject({ prev_token: [256], h_in: [1, 256, 256], context_proj: [256, 100, 257], src_mask: [256, 100] });
    expect(await meta('gru-bounded')).toEqual({ token_ids: [4, 300] });
    expect(await meta('gru-default')).toEqual({ token_ids: [128, 128] });
  });

  it('the chat endpoint still answers a conversation longer than maxSourceTokens (it keeps the most recent tokens)', async () => {
    const long = Array.from({ length: 30 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'i would like to book a flight from boston to denver on monday' }));
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: long, temperature: 0, max_tokens: 4 }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens).toBeLessThanOrEqual(MAX_SOURCE_TOKENS);
  });
});
