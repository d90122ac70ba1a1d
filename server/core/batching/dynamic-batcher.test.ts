import { Tensor } from 'onnxruntime-common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TensorMap } from '../graph-runner.ts';
import { batchingRunner, DynamicBatcher, type DynamicBatcherOptions } from './dynamic-batcher.ts';
import { resizeTensor } from './tensor-pad.ts';

/**
 * A fake stateless graph: x [B, T] float32 -> y = 2x [B, T] and s = the row's sum [B]. A NaN in a
 * row fails the whole run (as a runtime error would). Records each run's batch size and context.
 */
class FakeGraph {
  runs: { rows: number; context: string | undefined; outputs: readonly string[] | undefined }[] = [];
  /** Resolves the runs in progress when set (to hold a run while requests pile up). */
  gate: Promise<void> | undefined;

  run = async (feeds: TensorMap, outputs: readonly string[] | undefined, context: string | undefined): Promise<TensorMap> => {
    const x = feeds.x;
    const [B, T] = x.dims;
    this.runs.push({ rows: B, context, outputs });
    if (this.gate) await this.gate;
    const data = x.data as Float32Array;
    if (data.some(Number.isNaN)) throw new Error(`NaN in x${context ? ` (${context})` : ''}`);
    const sums = Float32Array.from({ length: B }, (_, b) => data.slice(b * T, (b + 1) * T).reduce((a, v) => a + v, 0));
    const out: TensorMap = {
      y: new Tensor(
        'float32',
        data.map((v) => 2 * v),
        [B, T],
      ),
      s: new Tensor('float32', sums, [B]),
    };
    return outputs ? Object.fromEntries(outputs.map((o) => [o, out[o]])) : out;
  };
}

const req = (xs: number[][], context?: string) => ({
  feeds: { x: new Tensor('float32', Float32Array.from(xs.flat()), [xs.length, xs[0].length]) },
  context,
});
const values = (t: Tensor) => [...(t.data as Float32Array)];
const make = (graph: FakeGraph, options: Partial<DynamicBatcherOptions> = {}) =>
  new DynamicBatcher<string>(graph.run, { name: 'fake.graph', maxBatchSize: 8, maxQueueDelayMs: 0, ...options });

afterEach(() => {
  vi.useRealTimers();
});

describe('DynamicBatcher', () => {
  it('stacks requests submitted together into one run and splits the outputs back per request', async () => {
    const graph = new FakeGraph();
    const sizes: number[] = [];
    const b = make(graph, { onBatch: (n) => sizes.push(n) });
    const [a, c, d] = await Promise.all([b.submit(req([[1, 2]])), b.submit(req([[3, 4]])), b.submit(req([[5, 6]]))]);
    expect(graph.runs.map((r) => r.rows)).toEqual([3]);
    expect(sizes).toEqual([3]);
    expect([values(a.y), values(c.y), values(d.y)]).toEqual([
      [2, 4],
      [6, 8],
      [10, 12],
    ]);
    expect([values(a.s), values(c.s), values(d.s)]).toEqual([[3], [7], [11]]);
    expect(a.y.dims).toEqual([1, 2]);
  });

  it('keeps requests of several rows together and whole', async () => {
    const graph = new FakeGraph();
    const b = make(graph);
    const [two, one] = await Promise.all([
      b.submit(
        req([
          [1, 1],
          [2, 2],
        ]),
      ),
      b.submit(req([[3, 3]])),
    ]);
    expect(graph.runs.map((r) => r.rows)).toEqual([3]);
    expect(two.y.dims).toEqual([2, 2]);
    expect(values(two.s)).toEqual([2, 4]);
    expect(values(one.s)).toEqual([6]);
  });

  it('only batches requests whose shapes agree apart from the batch axis', async () => {
    const graph = new FakeGraph();
    const b = make(graph);
    const results = await Promise.all([b.submit(req([[1, 2]])), b.submit(req([[1, 2, 3]])), b.submit(req([[4, 5]])), b.submit(req([[6, 7, 8]]))]);
    expect(graph.runs.map((r) => r.rows).sort()).toEqual([2, 2]);
    expect(results.map((r) => values(r.s))).toEqual([[3], [6], [9], [21]]);
  });

  it('never puts more than maxBatchSize rows in a run; a larger request runs alone', async () => {
    const graph = new FakeGraph();
    const b = make(graph, { maxBatchSize: 2 });
    await Promise.all([b.submit(req([[1]])), b.submit(req([[1]])), b.submit(req([[1]])), b.submit(req([[1], [2], [3]])), b.submit(req([[1]]))]);
    expect(graph.runs.map((r) => r.rows)).toEqual([2, 1, 3, 1]);
  });

  it('lets requests that arrive while a batch runs form the next batch (no delay)', async () => {
    const graph = new FakeGraph();
    let open!: () => void;
    graph.gate = new Promise((r) => (open = r));
    const b = make(graph);
    const first = b.submit(req([[1]]));
    await new Promise((r) => setTimeout(r, 1));
    expect(graph.runs.map((r) => r.rows)).toEqual([1]);
    const later = [1, 2, 3, 4].map((v) => b.submit(req([[v]])));
    await new Promise((r) => setTimeout(r, 1));
    expect(b.depth).toBe(4);
    graph.gate = undefined;
    open();
    const out = await Promise.all([first, ...later]);
    expect(graph.runs.map((r) => r.rows)).toEqual([1, 4]);
    expect(out.map((o) => values(o.s)[0])).toEqual([1, 1, 2, 3, 4]);
  });

  it('waits up to the queue delay for more requests, then sends what waits', async () => {
    vi.useFakeTimers();
    const graph = new FakeGraph();
    const b = make(graph, { maxQueueDelayMs: 10, now: () => Date.now() });
    const a = b.submit(req([[1]]));
    await vi.advanceTimersByTimeAsync(5);
    expect(graph.runs).toEqual([]);
    const c = b.submit(req([[2]]));
    await vi.advanceTimersByTimeAsync(4);
    expect(graph.runs).toEqual([]); // 9 ms after the first: still waiting
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([a, c]);
    expect(graph.runs.map((r) => r.rows)).toEqual([2]);
  });

  it('sends a batch at once when it reaches the largest preferred size, and the largest preferred size that can be formed when the delay passes', async () => {
    vi.useFakeTimers();
    const graph = new FakeGraph();
    const b = make(graph, { maxQueueDelayMs: 100, preferredBatchSizes: [2, 4], now: () => Date.now() });
    const four = [1, 2, 3, 4].map((v) => b.submit(req([[v]])));
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(four);
    expect(graph.runs.map((r) => r.rows)).toEqual([4]); // no waiting for the delay
    const three = [1, 2, 3].map((v) => b.submit(req([[v]])));
    await vi.advanceTimersByTimeAsync(50);
    expect(graph.runs.map((r) => r.rows)).toEqual([4]);
    await vi.advanceTimersByTimeAsync(50);
    await Promise.all(three);
    // 3 waiting when the delay passed: the preferred 2 first, then the one left (already past its delay)
    expect(graph.runs.map((r) => r.rows)).toEqual([4, 2, 1]);
  });

  it('a request that fails in a batch fails alone, with its own context; the others get their results', async () => {
    const graph = new FakeGraph();
    const b = make(graph);
    const settled = await Promise.allSettled([b.submit(req([[1]], 'a')), b.submit(req([[NaN]], 'bad')), b.submit(req([[2]], 'c'))]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((settled[1] as PromiseRejectedResult).reason as Error).message).toBe('NaN in x (bad)');
    expect(values((settled[2] as PromiseFulfilledResult<TensorMap>).value.s)).toEqual([2]);
    // the batch ran without a context, then each request alone with its own
    expect(graph.runs.map((r) => [r.rows, r.context])).toEqual([
      [3, undefined],
      [1, 'a'],
      [1, 'bad'],
      [1, 'c'],
    ]);
  });

  it('removes a waiting request whose signal aborts; the others still run', async () => {
    const graph = new FakeGraph();
    let open!: () => void;
    graph.gate = new Promise((r) => (open = r));
    const b = make(graph);
    const first = b.submit(req([[1]]));
    await new Promise((r) => setTimeout(r, 1));
    const abort = new AbortController();
    const gone = b.submit({ ...req([[2]]), signal: abort.signal });
    const kept = b.submit(req([[3]]));
    await Promise.resolve();
    expect(b.depth).toBe(2);
    abort.abort(new Error('client went away'));
    await expect(gone).rejects.toThrow('client went away');
    expect(b.depth).toBe(1);
    graph.gate = undefined;
    open();
    await Promise.all([first, kept]);
    expect(graph.runs.map((r) => r.rows)).toEqual([1, 1]);
    await expect(b.submit({ ...req([[4]]), signal: abort.signal })).rejects.toThrow('client went away');
  });

  it('keeps serving when the batch callback throws', async () => {
    const graph = new FakeGraph();
    const b = make(graph, {
      onBatch: () => {
        throw new Error('metrics down');
      },
    });
    const out = await Promise.all([b.submit(req([[1]])), b.submit(req([[2]]))]);
    expect(out.map((o) => values(o.s))).toEqual([[1], [2]]);
    expect(values((await b.submit(req([[3]]))).s)).toEqual([3]);
  });

  it('refuses requests beyond maxQueued', async () => {
    const graph = new FakeGraph();
    let open!: () => void;
    graph.gate = new Promise((r) => (open = r));
    const b = make(graph, { maxQueued: 1 });
    const first = b.submit(req([[1]]));
    await new Promise((r) => setTimeout(r, 1));
    const second = b.submit(req([[2]]));
    await expect(b.submit(req([[3]]))).rejects.toMatchObject({ code: 'resource_exhausted' });
    graph.gate = undefined;
    open();
    await Promise.all([first, second]);
  });

  it('runs only the outputs asked for (the union for a batch) and gives each request its own', async () => {
    const graph = new FakeGraph();
    const b = make(graph);
    const [ys, ss] = await Promise.all([b.submit({ ...req([[1]]), outputs: ['y'] }), b.submit({ ...req([[2]]), outputs: ['s'] })]);
    expect(graph.runs[0].outputs).toEqual(['y', 's']);
    expect(Object.keys(ys)).toEqual(['y']);
    expect(Object.keys(ss)).toEqual(['s']);
  });

  it('stops batching a graph whose outputs are not one row per input row', async () => {
    const sum = async (feeds: TensorMap): Promise<TensorMap> => {
      const d = feeds.x.data as Float32Array;
      return { total: new Tensor('float32', Float32Array.of(d.reduce((a, v) => a + v, 0)), [1]) };
    };
    const b = new DynamicBatcher<string>(sum, { name: 'fake.sum', maxBatchSize: 8, maxQueueDelayMs: 0 });
    const out = await Promise.all([b.submit(req([[1]])), b.submit(req([[2]]))]);
    expect(out.map((o) => values(o.total))).toEqual([[1], [2]]);
    expect(b.disabledReason).toMatch(/output "total" of a batch of 2 rows has shape \[1\]/);
  });

  it('pads the inputs the plan names to the longest in the batch and cuts outputs back', async () => {
    const graph = new FakeGraph();
    const b = make(graph, { pad: { values: { x: 0 }, trim: [{ output: 'y', axis: 1, input: 'x', inputAxis: 1 }] } });
    const [short, long] = await Promise.all([b.submit(req([[1, 2]])), b.submit(req([[3, 4, 5]]))]);
    expect(graph.runs.map((r) => r.rows)).toEqual([2]);
    expect(short.y.dims).toEqual([1, 2]);
    expect(values(short.y)).toEqual([2, 4]);
    expect(values(short.s)).toEqual([3]); // zeros added nothing to the sum
    expect(values(long.y)).toEqual([6, 8, 10]);
  });

  it('with length buckets, batches only requests whose padded lengths fall in one power-of-two range', async () => {
    const graph = new FakeGraph();
    const b = make(graph, { pad: { values: { x: 0 }, trim: [{ output: 'y', axis: 1, input: 'x', inputAxis: 1 }], lengthBuckets: true } });
    const lengths = [3, 4, 9, 16, 2, 5];
    const out = await Promise.all(lengths.map((n) => b.submit(req([Array.from({ length: n }, (_, i) => i + 1)]))));
    // 3 and 4 (3-4), 9 and 16 (9-16), 2 alone, 5 alone (5-8): four runs
    expect(graph.runs.map((r) => r.rows).sort()).toEqual([1, 1, 2, 2]);
    out.forEach((o, i) => expect(o.y.dims).toEqual([1, lengths[i]]));
  });
});

describe('batchingRunner', () => {
  it('gives a task a graph runner whose concurrent runs share a batch', async () => {
    const graph = new FakeGraph();
    const runner = batchingRunner(
      { inputNames: ['x'], outputNames: ['y', 's'], run: (feeds) => graph.run(feeds, undefined, undefined) },
      { name: 'fake.graph', maxBatchSize: 8, maxQueueDelayMs: 0 },
    );
    const out = await Promise.all([runner.run(req([[1, 2]]).feeds), runner.run(req([[3, 4]]).feeds)]);
    expect(graph.runs.map((r) => r.rows)).toEqual([2]);
    expect(out.map((o) => values(o.s))).toEqual([[3], [7]]);
    expect(runner.inputNames).toEqual(['x']);
  });
});

describe('resizeTensor', () => {
  it('pads and cuts along any axis, int64 included', () => {
    const t = new Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), [1, 2, 3]);
    const padded = resizeTensor(t, [1, 3, 4], -1);
    expect([...(padded.data as BigInt64Array)]).toEqual([1n, 2n, 3n, -1n, 4n, 5n, 6n, -1n, -1n, -1n, -1n, -1n]);
    const back = resizeTensor(padded, [1, 2, 3]);
    expect([...(back.data as BigInt64Array)]).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    expect(resizeTensor(t, [1, 2, 3])).toBe(t);
  });
});
