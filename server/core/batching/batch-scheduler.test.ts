import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { BatchScheduler } from './batch-scheduler.ts';
import { concatAlong, splitAlong } from './tensor-batch.ts';

/** x [B, T] → y = 2x [B, T]; state [L=2, B, H=3] → state + sum of the row's x. Throws on NaN. */
class FakeRunner implements GraphRunner {
  readonly inputNames = ['x', 'state_in'];
  readonly outputNames = ['y', 'state_out'];
  calls: number[] = [];

  async run(feeds: TensorMap): Promise<TensorMap> {
    const x = feeds.x;
    const s = feeds.state_in;
    const [B, T] = x.dims;
    const xd = x.data as Float32Array;
    if (xd.some(Number.isNaN)) throw new Error('NaN in x');
    this.calls.push(B);
    const sums = Array.from({ length: B }, (_, b) => xd.slice(b * T, (b + 1) * T).reduce((a, v) => a + v, 0));
    const sd = s.data as Float32Array;
    const out = sd.map((v, i) => v + sums[Math.floor(i / 3) % B]);
    return {
      y: new Tensor(
        'float32',
        xd.map((v) => 2 * v),
        [B, T],
      ),
      state_out: new Tensor('float32', out, [2, B, 3]),
    };
  }
}

const row = (x: number[], state: number) => ({
  x: new Tensor('float32', Float32Array.from(x), [1, x.length]),
  state_in: new Tensor('float32', new Float32Array(6).fill(state), [2, 1, 3]),
});

const axes = { batchAxes: { x: 0, y: 0, state_in: 1, state_out: 1 } };

describe('BatchScheduler', () => {
  it('runs steps submitted together as one batch and gives each caller its own rows', async () => {
    const runner = new FakeRunner();
    const s = new BatchScheduler(runner, { ...axes, maxBatch: 8 });
    const results = await Promise.all([s.submit(row([1, 2], 0)), s.submit(row([3, 4], 10)), s.submit(row([5, 6], 100))]);
    expect(runner.calls).toEqual([3]);
    expect(results.map((r) => [...(r.y.data as Float32Array)])).toEqual([
      [2, 4],
      [6, 8],
      [10, 12],
    ]);
    expect(results.map((r) => [...(r.state_out.data as Float32Array)])).toEqual([new Array(6).fill(3), new Array(6).fill(17), new Array(6).fill(111)]);
    expect(results[0].state_out.dims).toEqual([2, 1, 3]);
  });

  it('keeps batches within maxBatch and groups by shape', async () => {
    const runner = new FakeRunner();
    const s = new BatchScheduler(runner, { ...axes, maxBatch: 2 });
    await Promise.all([s.submit(row([1], 0)), s.submit(row([1], 0)), s.submit(row([1], 0)), s.submit(row([1, 2], 0))]);
    expect(runner.calls).toEqual([2, 1, 1]);
  });

  it('retries rows alone when a batch fails, failing only the bad one', async () => {
    const runner = new FakeRunner();
    const s = new BatchScheduler(runner, { ...axes, maxBatch: 8 });
    const settled = await Promise.allSettled([s.submit(row([1], 0)), s.submit(row([NaN], 0)), s.submit(row([2], 0))]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect([...((settled[2] as PromiseFulfilledResult<TensorMap>).value.y.data as Float32Array)]).toEqual([4]);
  });

  it('lets steps that arrive during a run join the next batch', async () => {
    const runner = new FakeRunner();
    const s = new BatchScheduler(runner, { ...axes, maxBatch: 8 });
    const first = s.submit(row([1], 0));
    await Promise.resolve();
    await Promise.resolve();
    const later = [s.submit(row([2], 0)), s.submit(row([3], 0))];
    await Promise.all([first, ...later]);
    expect(runner.calls.reduce((a, b) => a + b, 0)).toBe(3);
    expect(runner.calls.length).toBeLessThanOrEqual(2);
  });
});

describe('concatAlong / splitAlong', () => {
  it('round-trips along a middle axis', () => {
    const a = new Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 1, 2]);
    const b = new Tensor('float32', Float32Array.from([5, 6, 7, 8, 9, 10, 11, 12]), [2, 2, 2]);
    const c = concatAlong([a, b], 1);
    expect(c.dims).toEqual([2, 3, 2]);
    expect([...(c.data as Float32Array)]).toEqual([1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12]);
    const [a2, b2] = splitAlong(c, 1, [1, 2]);
    expect([...(a2.data as Float32Array)]).toEqual([1, 2, 3, 4]);
    expect([...(b2.data as Float32Array)]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(b2.dims).toEqual([2, 2, 2]);
  });

  it('handles int64 tensors', () => {
    const a = new Tensor('int64', BigInt64Array.from([1n, 2n]), [1, 2]);
    const b = new Tensor('int64', BigInt64Array.from([3n, 4n]), [1, 2]);
    expect([...(concatAlong([a, b], 0).data as BigInt64Array)]).toEqual([1n, 2n, 3n, 4n]);
  });
});
