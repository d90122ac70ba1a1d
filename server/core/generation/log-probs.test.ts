import { describe, expect, it } from 'vitest';
import { argmax, logSoftmax, logSumExp, topIndices, topTokens } from './log-probs.ts';

describe('log-probabilities', () => {
  it('log-softmax normalises and keeps order', () => {
    const lp = logSoftmax([1, 2, 3]);
    expect([...lp].reduce((a, x) => a + Math.exp(x), 0)).toBeCloseTo(1, 12);
    expect(argmax(lp)).toBe(2);
  });

  it('logSumExp is the log-softmax normaliser, stable for large logits', () => {
    expect(logSumExp([0, 1, 0.5, -1])).toBeCloseTo(Math.log(1 + Math.E + Math.exp(0.5) + Math.exp(-1)), 12);
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 9);
  });

  it('topTokens lists the best k with their log-probabilities', () => {
    expect(topTokens([-3, -0.1, -2], 2)).toEqual([
      { token: 1, logProb: -0.1 },
      { token: 2, logProb: -2 },
    ]);
  });

  it('topIndices matches a stable sort of the whole row, ties in index order', () => {
    const sorted = (xs: number[], k: number) =>
      xs
        .map((_, i) => i)
        .sort((a, b) => xs[b] - xs[a])
        .slice(0, k);
    let seed = 1;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 200; trial++) {
      const xs = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => Math.floor(rnd() * 6) - 3); // many ties
      const k = Math.floor(rnd() * (xs.length + 2));
      expect(topIndices(xs, k)).toEqual(sorted(xs, k));
    }
    expect(topIndices([-Infinity, 1, -Infinity], 3)).toEqual([1, 0, 2]);
  });
});
