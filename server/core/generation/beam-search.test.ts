import { describe, expect, it } from 'vitest';
import { beamScore, beamSearchDone, beamStep, type BeamHypothesis, lengthPenalty } from './beam-search.ts';

const EOS = 0;
const start: BeamHypothesis = { tokens: [], logProb: 0, tokenLogProbs: [], finished: false };

/** A fixed next-token model: the distribution depends only on the prefix length and last token. */
function model(prefix: number[]): number[] {
  const table: Record<string, number[]> = {
    '': [0.05, 0.5, 0.45],
    '1': [0.5, 0.25, 0.25],
    '2': [0.02, 0.03, 0.95],
    '1,1': [1, 0, 0],
    '1,2': [1, 0, 0],
    '2,2': [1, 0, 0],
    '2,1': [1, 0, 0],
  };
  return (table[prefix.join(',')] ?? [1, 0, 0]).map((p) => Math.log(p));
}

function search(width: number, alpha: number, maxLength = 5) {
  let live = [start];
  const finished: BeamHypothesis[] = [];
  while (!beamSearchDone(finished, live, width, alpha, maxLength)) {
    const r = beamStep(
      live,
      live.map((b) => model(b.tokens)),
      width,
      EOS,
      maxLength,
    );
    finished.push(...r.finished);
    live = r.live.map((l) => l.hypothesis);
  }
  return finished.sort((a, b) => beamScore(b, alpha) - beamScore(a, alpha));
}

/** Every complete sequence of the model with its log-probability. */
function exhaustive(maxLength: number): BeamHypothesis[] {
  const out: BeamHypothesis[] = [];
  const walk = (tokens: number[], lp: number) => {
    const row = model(tokens);
    for (let t = 0; t < row.length; t++) {
      if (row[t] === -Infinity) continue;
      if (t === EOS) out.push({ tokens, logProb: lp + row[t], tokenLogProbs: [], finished: true });
      else if (tokens.length + 1 >= maxLength) out.push({ tokens: [...tokens, t], logProb: lp + row[t], tokenLogProbs: [], finished: true });
      else walk([...tokens, t], lp + row[t]);
    }
  };
  walk([], 0);
  return out;
}

describe('beam search', () => {
  it('GNMT length penalty is 1 at length 1 and grows with alpha', () => {
    expect(lengthPenalty(1, 0.6)).toBe(1);
    expect(lengthPenalty(10, 0.6)).toBeGreaterThan(lengthPenalty(10, 0.2));
  });

  it('a wide beam finds the most probable sequence that greedy misses', () => {
    // greedy: 1 (0.5) then EOS (0.5) → 0.25; best: 2, 2, EOS = 0.45 × 0.95 = 0.4275
    const [best] = search(4, 0);
    const [truth] = exhaustive(5).sort((a, b) => b.logProb - a.logProb);
    expect(best.tokens).toEqual(truth.tokens);
    expect(best.tokens).toEqual([2, 2]);
    expect(best.logProb).toBeCloseTo(Math.log(0.45 * 0.95 * 1), 10);
  });

  it('width 1 is greedy', () => {
    expect(search(1, 0)[0].tokens).toEqual([1]);
  });

  it('keeps per-token log-probabilities and stops beams at the maximum length', () => {
    const r = beamStep([start], [model([])], 2, EOS, 1);
    expect(r.live).toHaveLength(0);
    expect(r.finished.map((h) => h.tokens)).toEqual([[1], [2]]);
    expect(r.finished[0].tokenLogProbs).toEqual([Math.log(0.5)]);
  });

  it('keeps the detail of each token on the hypothesis it survives in', () => {
    let live = [start] as BeamHypothesis<{ prefix: number[]; token: number }>[];
    const finished: BeamHypothesis<{ prefix: number[]; token: number }>[] = [];
    while (!beamSearchDone(finished, live, 3, 0, 5)) {
      const beams = live;
      const r = beamStep(
        beams,
        beams.map((b) => model(b.tokens)),
        3,
        EOS,
        5,
        (parent, token) => ({ prefix: beams[parent].tokens, token }),
      );
      finished.push(...r.finished);
      live = r.live.map((l) => l.hypothesis);
    }
    expect(finished.length).toBeGreaterThanOrEqual(3);
    for (const h of finished) {
      expect(h.details).toHaveLength(h.tokens.length);
      h.details!.forEach((d, i) => expect(d).toEqual({ prefix: h.tokens.slice(0, i), token: h.tokens[i] }));
    }
  });
});
