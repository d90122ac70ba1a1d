import { describe, expect, it } from 'vitest';
import { eachRow, runBatchOrRows } from './run-batch-or-rows.ts';

/** Doubles numbers; throws on a negative one (a batch holding one fails as a whole). */
const double = async (xs: readonly number[]) => {
  if (xs.some((x) => x < 0)) throw new Error(`negative: ${xs.find((x) => x < 0)}`);
  return xs.map((x) => 2 * x);
};

describe('runBatchOrRows', () => {
  it('returns the batch result when the batch runs, without running rows alone', async () => {
    const alone: number[] = [];
    const r = await runBatchOrRows([1, 2, 3], double, async (x) => (alone.push(x), 0));
    expect(r).toEqual({ ok: true, batch: [2, 4, 6] });
    expect(alone).toEqual([]);
  });

  it('after a failed batch runs each row alone: only the row that fails alone fails', async () => {
    const r = await runBatchOrRows([1, -2, 3], double, async (x) => (await double([x]))[0]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect((r.error as Error).message).toBe('negative: -2');
    expect(r.rows.map((o) => (o.ok ? o.value : (o.error as Error).message))).toEqual([2, 'negative: -2', 6]);
  });

  it('does not run a batch of one again', async () => {
    let alone = 0;
    const r = await runBatchOrRows([-1], double, async () => ++alone);
    expect(alone).toBe(0);
    expect(eachRow(r)).toEqual([{ ok: false, error: new Error('negative: -1') }]);
  });

  it('eachRow gives per-row outcomes either way', async () => {
    expect(eachRow(await runBatchOrRows([1, 2], double, async (x) => (await double([x]))[0]))).toEqual([
      { ok: true, value: 2 },
      { ok: true, value: 4 },
    ]);
  });
});
