import { describe, expect, it } from 'vitest';
import { ctcGreedy, ctcPrefixBeamSearch } from './ctc.ts';
import { NgramLm } from './ngram-lm.ts';
import { CombinedScorer, HotwordScorer, WordLmScorer } from './prefix-scorers.ts';
import { scoreAll, TINY_ARPA } from './scorer-test-fixtures.ts';

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

  it('reports emission frames in order, also when a prefix leaves the beam and comes back', () => {
    // random posteriors with a narrow beam make prefixes drop out and return; a token can never be
    // timed after the token that follows it (word times are built from these frames)
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 300; trial++) {
      const V = 4;
      const T = 14;
      const logProbs = new Float32Array(T * V);
      for (let t = 0; t < T; t++) {
        const p = Array.from({ length: V }, () => random() ** 3);
        const sum = p.reduce((a, b) => a + b, 0);
        p.forEach((x, v) => (logProbs[t * V + v] = Math.log(x / sum)));
      }
      for (const h of ctcPrefixBeamSearch(logProbs, T, V, { beamWidth: 2, blank: 0 })) {
        expect(h.frames).toEqual([...h.frames].sort((a, b) => a - b));
      }
    }
  });
});

describe('CTC prefix beam search with a scorer (LM fusion, hotwords)', () => {
  it('ranks every labelling by exact acoustic log-probability plus the scorer total, like brute force', () => {
    const alphabet = ['<blank>', ' ', 'a', 'b'];
    const rnd = seeded(21);
    // plain fusion, and with lookahead and an out-of-vocabulary penalty (scores while spelling that the word's end takes back)
    for (const [T, lexicon] of [
      [2, false],
      [3, false],
      [5, false],
      [3, true],
      [5, true],
    ] as const) {
      const scorer = new CombinedScorer([
        new WordLmScorer(NgramLm.fromArpa(TINY_ARPA), alphabet, 1, { alpha: 0.8, beta: 1.5, ...(lexicon ? { lookahead: true, oovPenalty: 3 } : {}) }),
        new HotwordScorer([{ phrase: 'ab', boost: 0.7 }], alphabet, 1),
      ]);
      const V = alphabet.length;
      const lp = randomLogProbs(T, V, rnd);
      const exact = bruteForce(lp, T, V, 0);
      const hyps = ctcPrefixBeamSearch(lp, T, V, { beamWidth: 100_000, blank: 0, scorer });
      expect(hyps.length).toBe(exact.size);
      for (const h of hyps) {
        const tokens = h.tokens;
        expect(h.logProb).toBeCloseTo(Math.log(exact.get(tokens.join(','))!), 9);
        expect(h.score).toBeCloseTo(h.logProb + scoreAll(scorer, tokens), 9);
      }
      const best = [...exact].map(([k, p]) => ({ k, s: Math.log(p) + scoreAll(scorer, k ? k.split(',').map(Number) : []) })).sort((a, b) => b.s - a.s)[0];
      expect(hyps[0].tokens.join(',')).toBe(best.k);
    }
  });

  it('a language model turns the acoustically best spelling into the known word', () => {
    const alphabet = ['<blank>', ' ', 'a', 'b'];
    const lm = NgramLm.fromArpa('\\data\\\n\\1-grams:\n-3 <unk>\n-0.5 </s>\n-0.5 ab\n-99 <s>\n\\end\\\n');
    // frames: a (0.9), then b vs a almost tied with a slight preference for "a"
    const rows = [
      [0.05, 0.01, 0.9, 0.04],
      [0.1, 0.01, 0.46, 0.43],
    ];
    const lp = rows.flatMap((r) => r.map(Math.log));
    const plain = ctcPrefixBeamSearch(lp, 2, 4, { beamWidth: 8, blank: 0 });
    const fused = ctcPrefixBeamSearch(lp, 2, 4, { beamWidth: 8, blank: 0, scorer: new WordLmScorer(lm, alphabet, 1, { alpha: 1, beta: 0 }) });
    const text = (t: number[]) => t.map((i) => alphabet[i]).join('');
    expect(text(plain[0].tokens)).toBe('a');
    expect(text(fused[0].tokens)).toBe('ab');
    expect(fused[0].frames).toEqual([0, 1]);
  });

  it('with lookahead and an out-of-vocabulary penalty a narrow beam keeps the known word the plain LM loses', () => {
    const alphabet = ['<blank>', ' ', 'a', 'b', 'c'];
    const lm = NgramLm.fromArpa(TINY_ARPA); // words "a" and "b"
    // one frame: "c" (not a word) slightly ahead of "a"; a beam of one keeps a single spelling
    const lp = [0.02, 0.01, 0.45, 0.02, 0.5].map(Math.log);
    const decode = (options: object) =>
      ctcPrefixBeamSearch(lp, 1, 5, { beamWidth: 1, blank: 0, scorer: new WordLmScorer(lm, alphabet, 1, { alpha: 0.5, beta: 0, ...options }) })[0];
    const text = (t: number[]) => t.map((i) => alphabet[i]).join('');
    expect(text(decode({}).tokens)).toBe('c'); // judged only at the word's end, after "a" has left the beam
    expect(text(decode({ lookahead: true, oovPenalty: 4 }).tokens)).toBe('a');
  });
});
