import { describe, expect, it } from 'vitest';
import { marginals, viterbi, type CrfParameters } from './crf.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2;
}

function randomCrf(L: number, rnd: () => number): CrfParameters {
  return {
    labels: Array.from({ length: L }, (_, i) => `L${i}`),
    transitions: Array.from({ length: L }, () => Array.from({ length: L }, rnd)),
    start: Array.from({ length: L }, rnd),
    end: Array.from({ length: L }, rnd),
  };
}

function pathScore(em: number[], path: number[], crf: CrfParameters): number {
  const L = crf.labels.length;
  let s = crf.start[path[0]] + crf.end[path[path.length - 1]];
  path.forEach((j, t) => {
    s += em[t * L + j];
    if (t > 0) s += crf.transitions[path[t - 1]][j];
  });
  return s;
}

function allPaths(T: number, L: number): number[][] {
  if (T === 0) return [[]];
  return allPaths(T - 1, L).flatMap((p) => Array.from({ length: L }, (_, j) => [...p, j]));
}

describe('CRF decoding', () => {
  it('viterbi finds the highest-scoring path found by enumerating all paths', () => {
    const rnd = seeded(7);
    for (let trial = 0; trial < 20; trial++) {
      const L = 2 + (trial % 3);
      const T = 1 + (trial % 5);
      const crf = randomCrf(L, rnd);
      const em = Array.from({ length: T * L }, rnd);
      const paths = allPaths(T, L);
      const best = Math.max(...paths.map((p) => pathScore(em, p, crf)));
      expect(pathScore(em, viterbi(em, T, crf), crf)).toBeCloseTo(best, 10);
    }
  });

  it('marginals equal brute-force posteriors and sum to one per token', () => {
    const rnd = seeded(11);
    const L = 3;
    const T = 4;
    const crf = randomCrf(L, rnd);
    const em = Array.from({ length: T * L }, rnd);
    const paths = allPaths(T, L);
    const weights = paths.map((p) => Math.exp(pathScore(em, p, crf)));
    const Z = weights.reduce((a, b) => a + b, 0);
    const m = marginals(em, T, crf);
    for (let t = 0; t < T; t++) {
      expect(m[t].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      for (let j = 0; j < L; j++) {
        const brute = paths.reduce((acc, p, k) => acc + (p[t] === j ? weights[k] : 0), 0) / Z;
        expect(m[t][j]).toBeCloseTo(brute, 10);
      }
    }
  });

  it('handles empty input', () => {
    const crf = randomCrf(2, seeded(1));
    expect(viterbi([], 0, crf)).toEqual([]);
    expect(marginals([], 0, crf)).toEqual([]);
  });
});
