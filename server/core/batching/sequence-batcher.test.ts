import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { SequenceBatcher, stateShape } from './sequence-batcher.ts';

/** A recurrent step: h_out = h_in + x (per row), y = 10 * h_out; state [1, batch, 2] on axis 1. */
function accumulator(): GraphRunner & { batches: number[] } {
  const batches: number[] = [];
  return {
    inputNames: ['x', 'h_in'],
    outputNames: ['y', 'h_out'],
    batches,
    run: async (feeds: TensorMap) => {
      const x = feeds.x.data as Float32Array;
      const h = feeds.h_in.data as Float32Array;
      const rows = feeds.x.dims[0];
      batches.push(rows);
      const hOut = new Float32Array(rows * 2);
      for (let r = 0; r < rows; r++) for (let j = 0; j < 2; j++) hOut[r * 2 + j] = h[r * 2 + j] + x[r * 2 + j];
      await Promise.resolve();
      return {
        h_out: new Tensor('float32', hOut, [1, rows, 2]),
        y: new Tensor(
          'float32',
          hOut.map((v) => v * 10),
          [rows, 2],
        ),
      };
    },
  };
}

const STATES = [{ input: 'h_in', output: 'h_out', batchAxis: 1 }];
const SHAPES = { h_in: { type: 'float32' as const, dims: [1, 1, 2] } };
const x = (a: number, b: number) => ({ x: new Tensor('float32', new Float32Array([a, b]), [1, 2]) });
const y = (out: TensorMap) => Array.from(out.y.data as Float32Array);

function batcher(options: Partial<ConstructorParameters<typeof SequenceBatcher>[4]> = {}) {
  const runner = accumulator();
  let now = 0;
  const b = new SequenceBatcher('m.step', runner, STATES, SHAPES, { maxIdleMs: 1000, maxSequences: 8, maxBatch: 16, now: () => now, ...options });
  return { b, runner, advance: (ms: number) => (now += ms) };
}

const refused = (code: string, pattern: RegExp) => (e: unknown) => e instanceof SeqserveError && e.code === code && pattern.test(e.message);

describe('SequenceBatcher', () => {
  it('keeps each sequence its own state over interleaved steps, and batches steps that arrive together', async () => {
    const { b, runner } = batcher();
    // two sequences, started together: one batch of 2
    const [a1, b1] = await Promise.all([b.step({ id: 1, start: true, end: false }, x(1, 1)), b.step({ id: 'b', start: true, end: false }, x(5, 0))]);
    expect(y(a1)).toEqual([10, 10]);
    expect(y(b1)).toEqual([50, 0]);
    expect(runner.batches).toEqual([2]);
    // interleaved: each step sees only its own history
    const [a2, b2, a3] = await Promise.all([
      b.step({ id: 1, start: false, end: false }, x(1, 2)),
      b.step({ id: 'b', start: false, end: false }, x(1, 1)),
      b.step({ id: 1, start: false, end: true }, x(3, 3)),
    ]);
    expect(y(a2)).toEqual([20, 30]);
    expect(y(b2)).toEqual([60, 10]);
    // the third step of sequence 1 ran after its second, in order
    expect(y(a3)).toEqual([50, 60]);
    expect(b.liveSequences).toBe(1);
  });

  it('never leaks a state into a sequence that reuses an ended id or a freed slot', async () => {
    const { b } = batcher();
    await b.step({ id: 7, start: true, end: false }, x(9, 9));
    await b.step({ id: 7, start: false, end: true }, x(1, 1));
    // the same id again starts from zeros
    expect(y(await b.step({ id: 7, start: true, end: false }, x(1, 0)))).toEqual([10, 0]);
    // a new sequence started beside a long-lived one starts from zeros too
    expect(y(await b.step({ id: 8, start: true, end: false }, x(0, 1)))).toEqual([0, 10]);
  });

  it('refuses an unknown id, a start of a live id, a step after the end, state in the request and batch > 1, naming the field', async () => {
    const { b } = batcher();
    await expect(b.step({ id: 3, start: false, end: false }, x(1, 1))).rejects.toSatisfy(
      refused('invalid_argument', /sequence 3 of m\.step is not live: its first step needs sequence_start/),
    );
    await b.step({ id: 3, start: true, end: false }, x(1, 1));
    await expect(b.step({ id: 3, start: true, end: false }, x(1, 1))).rejects.toSatisfy(refused('invalid_argument', /already live/));
    const last = b.step({ id: 3, start: false, end: true }, x(1, 1));
    await expect(b.step({ id: 3, start: false, end: false }, x(1, 1))).rejects.toSatisfy(refused('invalid_argument', /not live/));
    await last;
    await expect(b.step({ id: 4, start: true, end: false }, { ...x(1, 1), h_in: new Tensor('float32', new Float32Array(2), [1, 1, 2]) })).rejects.toThrow(
      /state that m\.step holds/,
    );
    await expect(b.step({ id: 4, start: true, end: false }, { x: new Tensor('float32', new Float32Array(4), [2, 2]) })).rejects.toThrow(/batch 2/);
    // 7 and "7" are different sequences
    await b.step({ id: 7, start: true, end: false }, x(1, 1));
    await expect(b.step({ id: '7', start: false, end: false }, x(1, 1))).rejects.toSatisfy(refused('invalid_argument', /sequence "7"/));
  });

  it('frees idle sequences and says so to a late step, but never one with a step in flight', async () => {
    const { b, advance } = batcher({ maxIdleMs: 100 });
    await b.step({ id: 1, start: true, end: false }, x(1, 1));
    await b.step({ id: 2, start: true, end: false }, x(1, 1));
    advance(50);
    await b.step({ id: 2, start: false, end: false }, x(1, 1));
    advance(60);
    await expect(b.step({ id: 1, start: false, end: false }, x(1, 1))).rejects.toSatisfy(refused('invalid_argument', /sequence 1 of m\.step expired after 110 ms/));
    expect(y(await b.step({ id: 2, start: false, end: false }, x(1, 1)))).toEqual([30, 30]);
    expect(y(await b.step({ id: 1, start: true, end: false }, x(2, 2)))).toEqual([20, 20]);
  });

  it('sheds a start beyond the live-sequence limit', async () => {
    const { b } = batcher({ maxSequences: 2 });
    await b.step({ id: 1, start: true, end: false }, x(1, 1));
    await b.step({ id: 2, start: true, end: false }, x(1, 1));
    await expect(b.step({ id: 3, start: true, end: false }, x(1, 1))).rejects.toSatisfy(refused('resource_exhausted', /2 live sequences, its limit/));
  });

  it('keeps the state of a sequence whose step failed', async () => {
    const runner = accumulator();
    let fail = false;
    const flaky: GraphRunner = { ...runner, run: (f) => (fail ? Promise.reject(new Error('boom')) : runner.run(f)) };
    const b = new SequenceBatcher('m.step', flaky, STATES, SHAPES, { maxIdleMs: 1000, maxSequences: 8, maxBatch: 16 });
    await b.step({ id: 1, start: true, end: false }, x(1, 1));
    fail = true;
    await expect(b.step({ id: 1, start: false, end: false }, x(5, 5))).rejects.toThrow(/boom/);
    fail = false;
    expect(y(await b.step({ id: 1, start: false, end: false }, x(1, 1)))).toEqual([20, 20]);
  });

  it('describes the zeros a state starts at, or why it cannot', () => {
    expect(stateShape(STATES[0], { type: 'float32', shape: [1, -1, 2] })).toEqual({ type: 'float32', dims: [1, 1, 2] });
    expect(stateShape(STATES[0], { type: 'float32', shape: [1, -1, -1] })).toMatch(/axis 2 is symbolic/);
    expect(stateShape(STATES[0], undefined)).toMatch(/not an input/);
  });
});
