import { describe, expect, it } from 'vitest';
import { ctcGreedy, ctcPrefixBeamSearch } from './ctc.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Random per-frame distributions as log-probabilities, row-major [T, V]. */
function randomLogProbs(T: number, V: number, rnd: () => number): number[] {
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const w = Array.from({ length: V }, () => rnd() ** 2 + 1e-3);
    const z = w.reduce((a, b) => a + b, 0);
    out.push(...w.map((x) => Math.log(x / z)));
  }
  return out;
}

function collapse(path: number[], blank: number): number[] {
  return path.filter((v, i) => v !== blank && (i === 0 || v !== path[i - 1]));
}

/** Exact P(label sequence) by enumerating every alignment. */
function bruteForce(lp: number[], T: number, V: number, blank: number): Map<string, number> {
  const probs = new Map<string, number>();
  const walk = (t: number, path: number[], logp: number) => {
    if (t === T) {
      const k = collapse(path, blank).join(',');
      probs.set(k, (probs.get(k) ?? 0) + Math.exp(logp));
      return;
    }
    for (let v = 0; v < V; v++) walk(t + 1, [...path, v], logp + lp[t * V + v]);
  };
  walk(0, [], 0);
  return probs;
}

describe('CTC decoding', () => {
  it('greedy collapses repeats and removes blanks, reporting emission frames', () => {
    const V = 3;
    const best = [1, 1, 0, 1, 2, 2, 0];
    const lp = best.flatMap((b) => Array.from({ length: V }, (_, v) => (v === b ? Math.log(0.9) : Math.log(0.05))));
    expect(ctcGreedy(lp, best.length, V, 0)).toEqual({ tokens: [1, 1, 2], frames: [0, 3, 4] });
  });

  it('prefix beam search with a full beam gives the exact probability of every label sequence', () => {
    const rnd = seeded(3);
    for (const [T, V] of [
      [1, 2],
      [3, 3],
      [4, 3],
      [5, 2],
      [4, 4],
    ]) {
      const lp = randomLogProbs(T, V, rnd);
      const exact = bruteForce(lp, T, V, 0);
      const hyps = ctcPrefixBeamSearch(lp, T, V, { beamWidth: 10_000, blank: 0 });
      expect(hyps.length).toBe(exact.size);
      for (const h of hyps) expect(Math.exp(h.logProb)).toBeCloseTo(exact.get(h.tokens.join(','))!, 10);
      expect(hyps.reduce((a, h) => a + Math.exp(h.logProb), 0)).toBeCloseTo(1, 10);
    }
  });

  it('finds the most probable labelling even where the best single path disagrees', () => {
    // Frame-wise best path is blank,blank → "" (p = 0.36), but "a" sums 0.64 over three alignments.
    const lp = [Math.log(0.6), Math.log(0.4), Math.log(0.6), Math.log(0.4)];
    expect(ctcGreedy(lp, 2, 2, 0).tokens).toEqual([]);
    const [top] = ctcPrefixBeamSearch(lp, 2, 2, { beamWidth: 4, blank: 0 });
    expect(top.tokens).toEqual([1]);
    expect(Math.exp(top.logProb)).toBeCloseTo(0.64, 10);
  });

  it('a narrow beam keeps only the best prefixes, ordered by probability', () => {
    const lp = randomLogProbs(6, 4, seeded(9));
    const hyps = ctcPrefixBeamSearch(lp, 6, 4, { beamWidth: 3, blank: 0 });
    expect(hyps).toHaveLength(3);
    expect(hyps[0].logProb).toBeGreaterThanOrEqual(hyps[1].logProb);
    expect(hyps[1].logProb).toBeGreaterThanOrEqual(hyps[2].logProb);
  });
});
