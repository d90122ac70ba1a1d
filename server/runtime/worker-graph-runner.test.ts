import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { WorkerGraphRunner } from './worker-graph-runner.ts';

const ENCODER = path.resolve(import.meta.dirname, '../../models/chat/encoder.onnx');
const OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 } as const;

const tokens = (rows: number[][]) => {
  const S = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * S);
  rows.forEach((r, i) => r.forEach((t, j) => (ids[i * S + j] = BigInt(t))));
  return new Tensor('int64', ids, [rows.length, S]);
};

describe('WorkerGraphRunner', () => {
  const model = new Uint8Array(readFileSync(ENCODER));
  let runner: WorkerGraphRunner;
  let direct: ort.InferenceSession;
  beforeAll(async () => {
    runner = await WorkerGraphRunner.start('chat.encoder', model, OPTIONS);
    direct = await ort.InferenceSession.create(model, OPTIONS);
  });
  afterAll(async () => {
    await runner.release();
    await direct.release();
  });

  it('runs the graph in its worker with the same outputs as a session on this thread', async () => {
    expect(runner.inputNames).toEqual(direct.inputNames);
    expect(runner.outputNames).toEqual(direct.outputNames);
    // a view into a larger buffer, as the engine's padded inputs may be
    const input = tokens([
      [4, 30, 31, 32, 33],
      [4, 40, 41, 0, 0],
    ]);
    const backing = new BigInt64Array(64);
    backing.set(input.data as BigInt64Array, 7);
    const view = new Tensor('int64', backing.subarray(7, 17), input.dims);
    const [inWorker, here] = await Promise.all([runner.run({ src_tokens: view }), direct.run({ src_tokens: input })]);
    for (const name of direct.outputNames) {
      expect(inWorker[name].dims).toEqual(here[name].dims);
      expect(Array.from(inWorker[name].data as Float32Array)).toEqual(Array.from(here[name].data as Float32Array));
    }
  });

  it('runs requests concurrently and keeps their results apart', async () => {
    const inputs = [
      [4, 10],
      [4, 11, 12, 13],
      [4, 14, 15],
    ].map((r) => tokens([r]));
    const [a, b, c] = await Promise.all(inputs.map((t) => runner.run({ src_tokens: t })));
    expect([a, b, c].map((o) => o.src_mask.dims[1])).toEqual([2, 4, 3]);
  });

  it("rejects a run the runtime refuses with the runtime's message, and keeps serving", async () => {
    await expect(runner.run({ src_tokens: new Tensor('float32', new Float32Array(2), [1, 2]) })).rejects.toThrow(/src_tokens|type|int64|float/i);
    const ok = await runner.run({ src_tokens: tokens([[4, 9]]) });
    expect(ok.h0).toBeDefined();
  });

  it('refuses a zero-size feed on the main thread, before the worker (and its runtime) sees it', async () => {
    const posted: unknown[] = [];
    const worker = (runner as unknown as { worker: { postMessage(m: unknown): void } }).worker;
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m: unknown) => (posted.push(m), post(m));
    try {
      // INT64 [1, 0] into the GRU encoder aborts onnxruntime-node's process
      await expect(runner.run({ src_tokens: new Tensor('int64', new BigInt64Array(0), [1, 0]) })).rejects.toSatisfy(
        (e: unknown) => e instanceof SeqserveError && e.code === 'invalid_argument' && /chat\.encoder: input "src_tokens" axis 1 has length 0/.test(e.message),
      );
      await expect(runner.run({ src_tokens: new Tensor('int64', new BigInt64Array(0), [0, 4]) })).rejects.toThrow(/input "src_tokens" axis 0 has length 0/);
      expect(posted).toEqual([]);
    } finally {
      worker.postMessage = post;
    }
    expect((await runner.run({ src_tokens: tokens([[4, 9]]) })).h0.dims).toEqual([1, 1, 256]);
  });

  it('fails the runs in flight when its worker dies, then starts a new worker', async () => {
    // a long run (16 x 100 tokens, several ms), so the worker is still at it when it dies
    const pending = runner.run({ src_tokens: tokens(Array.from({ length: 16 }, () => Array.from({ length: 100 }, (_, i) => 10 + (i % 50)))) });
    await (runner as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(pending).rejects.toSatisfy((e: unknown) => e instanceof SeqserveError && e.code === 'unavailable');
    const again = await runner.run({ src_tokens: tokens([[4, 9]]) });
    expect(again.src_mask.dims).toEqual([1, 2]);
  });

  it('refuses a model that is not ONNX, and runs after release', async () => {
    await expect(WorkerGraphRunner.start('bad.encoder', new Uint8Array([1, 2, 3, 4]), OPTIONS)).rejects.toThrow(/bad.encoder: graph worker could not start/);
    const other = await WorkerGraphRunner.start('chat.encoder', model, OPTIONS);
    await other.release();
    await expect(other.run({ src_tokens: tokens([[4, 9]]) })).rejects.toThrow(/unloaded/);
  });
});
