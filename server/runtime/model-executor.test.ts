import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { ModelExecutor } from './model-executor.ts';

const MODELS = path.resolve(import.meta.dirname, '../../models');
const ENCODER = new Uint8Array(readFileSync(path.join(MODELS, 'chat/encoder.onnx')));
const DECODER = new Uint8Array(readFileSync(path.join(MODELS, 'chat/decoder.onnx')));
const OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 } as const;
const GRAPHS = [
  { name: 'encoder', bytes: ENCODER },
  { name: 'decoder', bytes: DECODER },
];

const tokens = (rows: number[][]) => {
  const S = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * S);
  rows.forEach((r, i) => r.forEach((t, j) => (ids[i * S + j] = BigInt(t))));
  return new Tensor('int64', ids, [rows.length, S]);
};
/** A long run (16 x 100 tokens, several ms). */
const long = () => tokens(Array.from({ length: 16 }, () => Array.from({ length: 100 }, (_, i) => 10 + (i % 50))));

describe('ModelExecutor', () => {
  let executor: ModelExecutor;
  let direct: ort.InferenceSession;
  const replaced: number[] = [];
  beforeAll(async () => {
    executor = await ModelExecutor.start('chat', GRAPHS, OPTIONS, { instances: 2, onReplace: (i) => replaced.push(i) });
    direct = await ort.InferenceSession.create(ENCODER, OPTIONS);
  });
  afterAll(async () => {
    await executor.release();
    await direct.release();
  });

  it('describes every graph as its session does, and runs it in a thread with the same outputs as a session on this thread', async () => {
    const encoder = executor.graphs.encoder;
    expect(encoder.inputNames).toEqual(direct.inputNames);
    expect(encoder.outputNames).toEqual(direct.outputNames);
    expect(executor.graphs.decoder.inputNames).toContain('h_in');
    // a view into a larger buffer, as the engine's padded inputs may be
    const input = tokens([
      [4, 30, 31, 32, 33],
      [4, 40, 41, 0, 0],
    ]);
    const backing = new BigInt64Array(64);
    backing.set(input.data as BigInt64Array, 7);
    const view = new Tensor('int64', backing.subarray(7, 17), input.dims);
    const [inThread, here] = await Promise.all([encoder.run({ src_tokens: view }), direct.run({ src_tokens: input })]);
    for (const name of direct.outputNames) {
      expect(inThread[name].dims).toEqual(here[name].dims);
      expect(Array.from(inThread[name].data as Float32Array)).toEqual(Array.from(here[name].data as Float32Array));
    }
    const some = await encoder.run({ src_tokens: input }, ['h0']);
    expect(Object.keys(some)).toEqual(['h0']);
  });

  it('runs requests concurrently across its instances and keeps their results apart', async () => {
    const inputs = [
      [4, 10],
      [4, 11, 12, 13],
      [4, 14, 15],
      [4, 16, 17, 18, 19],
    ].map((r) => tokens([r]));
    const outs = await Promise.all(inputs.map((t) => executor.graphs.encoder.run({ src_tokens: t })));
    expect(outs.map((o) => o.src_mask.dims[1])).toEqual([2, 4, 3, 5]);
  });

  it("rejects a run the runtime refuses with the runtime's message, and keeps serving", async () => {
    await expect(executor.graphs.encoder.run({ src_tokens: new Tensor('float32', new Float32Array(2), [1, 2]) })).rejects.toThrow(/src_tokens|type|int64|float/i);
    expect((await executor.graphs.encoder.run({ src_tokens: tokens([[4, 9]]) })).h0).toBeDefined();
  });

  it('fails only the runs a stopped instance held, serves on the other meanwhile, and replaces it', async () => {
    // the stop is posted first: the run that goes to the same thread after it is never run; the other thread runs its own
    const stopping = executor.stopInstance(0);
    const results = await Promise.allSettled([0, 1].map(() => executor.graphs.encoder.run({ src_tokens: long() })));
    await stopping;
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toSatisfy((e: unknown) => e instanceof SeqserveError && e.code === 'unavailable');
    expect(replaced).toEqual([0]);
    // runs go on while the replacement starts, and after it is up both instances serve
    const again = await Promise.all(Array.from({ length: 4 }, () => executor.graphs.encoder.run({ src_tokens: tokens([[4, 9]]) })));
    expect(again.every((o) => o.src_mask.dims[1] === 2)).toBe(true);
    await expect.poll(() => executor.liveInstances, { timeout: 20_000 }).toBe(2);
  });

  it('refuses a model that is not ONNX, naming the graph, and runs after release', async () => {
    await expect(ModelExecutor.start('bad', [{ name: 'encoder', bytes: new Uint8Array([1, 2, 3, 4]) }], OPTIONS, { instances: 1 })).rejects.toSatisfy(
      (e: unknown) => e instanceof Error && (e as Error & { graph?: string }).graph === 'encoder',
    );
    const other = await ModelExecutor.start('chat', GRAPHS, OPTIONS, { instances: 1 });
    await other.release();
    await expect(other.graphs.encoder.run({ src_tokens: tokens([[4, 9]]) })).rejects.toThrow(/unloaded/);
  });
});

describe('ModelExecutor threads: priority', () => {
  it.runIf(process.platform === 'linux')('runs its threads at the niceness asked, below the main thread', async () => {
    const executor = await ModelExecutor.start('chat', GRAPHS.slice(0, 1), OPTIONS, { instances: 1, nice: 7 });
    try {
      // every thread of this process: the executor's (and its runtime's) at 7, this one unchanged
      const { readdirSync, readFileSync: read } = await import('node:fs');
      const nice = (tid: string) => Number(read(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
      const tids = readdirSync('/proc/self/task');
      expect(tids.map(nice)).toContain(7);
      expect(nice(String(process.pid))).toBe(0);
    } finally {
      await executor.release();
    }
  });
});
