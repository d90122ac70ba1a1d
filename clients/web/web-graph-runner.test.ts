/**
 * The browser client's graph runner over onnxruntime-web (wasm, here in Node): feeds are checked
 * before the runtime, as on the server.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../../server/config.ts';
import { SeqserveError } from '../../server/core/errors.ts';
import { parseManifest } from '../../server/core/manifest.ts';
import { webGraphRunner } from './web-graph-runner.ts';

ortWeb.env.wasm.numThreads = 1;

const invalid = (pattern: RegExp) => (e: unknown) => e instanceof SeqserveError && e.code === 'invalid_argument' && pattern.test(e.message);

describe('web client graph runner (onnxruntime-web)', () => {
  const sessions: ortWeb.InferenceSession[] = [];
  const open = async (model: string, file: string) => {
    const s = await ortWeb.InferenceSession.create(path.join(BUNDLED_MODELS_DIR, model, file));
    sessions.push(s);
    return s;
  };
  let chatEncoder: ortWeb.InferenceSession;
  let chatDecoder: ortWeb.InferenceSession;
  beforeAll(async () => {
    chatEncoder = await open('chat', 'encoder.onnx');
    chatDecoder = await open('chat', 'decoder.onnx');
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.release()));
  });

  it('refuses a zero-size feed naming the input and axis, and still runs a valid one', async () => {
    const runner = webGraphRunner(chatEncoder, 'chat.encoder');
    await expect(runner.run({ src_tokens: new ortWeb.Tensor('int64', new BigInt64Array(0), [1, 0]) })).rejects.toSatisfy(
      invalid(/^chat\.encoder: input "src_tokens" axis 1 has length 0; every axis must be at least 1$/),
    );
    await expect(runner.run({ src_tokens: new ortWeb.Tensor('int64', new BigInt64Array(0), [0, 3]) })).rejects.toSatisfy(invalid(/input "src_tokens" axis 0 has length 0/));
    const out = await runner.run({ src_tokens: new ortWeb.Tensor('int64', BigInt64Array.from([4n, 9n]), [1, 2]) });
    expect(out.h0.dims).toEqual([1, 1, 256]);
  });

  it("refuses decoder states whose batch disagrees with the other inputs (the manifest's states)", async () => {
    const manifest = parseManifest(JSON.parse(readFileSync(path.join(BUNDLED_MODELS_DIR, 'chat', 'manifest.json'), 'utf8')));
    const runner = webGraphRunner(chatDecoder, 'chat.decoder', { states: manifest.graphs.decoder.states });
    const feeds = (batch: number, stateBatch: number) => ({
      prev_token: new ortWeb.Tensor('int64', new BigInt64Array(batch), [batch]),
      h_in: new ortWeb.Tensor('float32', new Float32Array(stateBatch * 256), [1, stateBatch, 256]),
      context_proj: new ortWeb.Tensor('float32', new Float32Array(batch * 2 * 257), [batch, 2, 257]),
      keys: new ortWeb.Tensor('float32', new Float32Array(batch * 2 * 256), [batch, 2, 256]),
      src_mask: new ortWeb.Tensor('float32', new Float32Array(batch * 2).fill(1), [batch, 2]),
      src_ids: new ortWeb.Tensor('float32', new Float32Array(batch * 2), [batch, 2]),
    });
    await expect(runner.run(feeds(2, 1))).rejects.toSatisfy(invalid(/inputs "prev_token" \(axis 0 = 2\) and "h_in" \(axis 1 = 1\) share the batch dimension "batch" but disagree/));
    expect((await runner.run(feeds(2, 2))).h_out.dims).toEqual([1, 2, 256]);
  });

  it('refuses ASR audio shorter than one output frame (the manifest audio section)', async () => {
    const manifest = parseManifest(JSON.parse(readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'manifest.json'), 'utf8')));
    const runner = webGraphRunner(await open('asr', 'acoustic.onnx'), 'asr.acoustic', { states: manifest.graphs.acoustic.states, audio: manifest.audio });
    const state = new ortWeb.Tensor('float32', new Float32Array(512), [2, 1, 256]);
    const least = manifest.audio!.contextSamples + manifest.audio!.frameSamples;
    await expect(runner.run({ samples: new ortWeb.Tensor('float32', new Float32Array(500), [1, 500]), state_in: state })).rejects.toSatisfy(
      invalid(new RegExp(`input "samples" axis 1 has length 500; the graph needs at least ${least}`)),
    );
    expect((await runner.run({ samples: new ortWeb.Tensor('float32', new Float32Array(least), [1, least]), state_in: state })).log_probs.dims).toEqual([1, 1, 29]);
  });
});
