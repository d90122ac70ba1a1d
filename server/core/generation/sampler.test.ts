import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, applyTopK, applyTopP, argmax, chooseToken, GREEDY, logSoftmax, logSumExp, SeededRandom, topTokens } from './sampling.ts';

describe('logits processors', () => {
  it('log-softmax normalises and keeps order', () => {
    const lp = logSoftmax([1, 2, 3]);
    expect([...lp].reduce((a, x) => a + Math.exp(x), 0)).toBeCloseTo(1, 12);
    expect(argmax(lp)).toBe(2);
  });

  it('repetition penalty shrinks positive and grows negative logits of generated tokens only', () => {
    const x = Float64Array.from([2, -2, 2]);
    applyRepetitionPenalty(x, [0, 1, 1], 2);
    expect([...x]).toEqual([1, -4, 2]);
  });

  it('top-k keeps exactly k tokens, top-p the smallest set reaching p', () => {
    const x = Float64Array.from([1, 4, 3, 2]);
    applyTopK(x, 2);
    expect([...x]).toEqual([-Infinity, 4, 3, -Infinity]);
    const probs = [0.5, 0.3, 0.15, 0.05];
    const y = Float64Array.from(probs.map(Math.log));
    applyTopP(y, 0.8);
    expect([...y].map((v) => v > -Infinity)).toEqual([true, true, false, false]);
    const z = Float64Array.from(probs.map(Math.log));
    applyTopP(z, 0.81);
    expect([...z].map((v) => v > -Infinity)).toEqual([true, true, true, false]);
    const w = Float64Array.from(probs.map(Math.log));
    applyTopP(w, 0.1);
    expect([...w].filter((v) => v > -Infinity)).toHaveLength(1);
  });

  it('topTokens lists the best k with their log-probabilities', () => {
    expect(topTokens([-3, -0.1, -2], 2)).toEqual([
      { token: 1, logProb: -0.1 },
      { token: 2, logProb: -2 },
    ]);
  });
});

describe('chooseToken', () => {
  const logits = [0, 1, 0.5, -1];

  it('is greedy at temperature 0 and reports the model log-probability', () => {
    const c = chooseToken(logits, GREEDY, [], undefined);
    expect(c.token).toBe(1);
    expect(c.logProb).toBeCloseTo(logSoftmax(logits)[1], 12);
    expect(c.logProbs).toBeUndefined();
    // the whole row only when asked for (top_logprobs), the same with or without a random source
    expect(Array.from(chooseToken(logits, GREEDY, [], new SeededRandom(1), true).logProbs!)).toEqual(Array.from(logSoftmax(logits)));
  });

  it('logSumExp is the log-softmax normaliser, stable for large logits', () => {
    expect(logSumExp([0, 1, 0.5, -1])).toBeCloseTo(Math.log(1 + Math.E + Math.exp(0.5) + Math.exp(-1)), 12);
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 9);
  });

  it('samples reproducibly from a seed, matching the distribution', () => {
    const params = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };
    const draw = (seed: number) => {
      const rnd = new SeededRandom(seed);
      return Array.from({ length: 4000 }, () => chooseToken(logits, params, [], rnd).token);
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
    const p = logSoftmax(logits).map(Math.exp);
    for (let t = 0; t < 4; t++) expect(a.filter((x) => x === t).length / a.length).toBeCloseTo(p[t], 1);
  });

  it('top_k 1 and low temperature collapse sampling onto the best token', () => {
    const rnd = new SeededRandom(1);
    for (let i = 0; i < 50; i++) expect(chooseToken(logits, { temperature: 1, topK: 1, topP: 1, repetitionPenalty: 1 }, [], rnd).token).toBe(1);
    for (let i = 0; i < 50; i++) expect(chooseToken(logits, { temperature: 0.01, topK: 0, topP: 1, repetitionPenalty: 1 }, [], rnd).token).toBe(1);
  });

  it('a strong repetition penalty moves greedy off a repeated token', () => {
    expect(chooseToken(logits, { ...GREEDY, repetitionPenalty: 3 }, [1], undefined).token).toBe(2);
  });
});
