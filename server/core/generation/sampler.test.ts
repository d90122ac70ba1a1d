import { describe, expect, it } from 'vitest';
import { logSoftmax } from './log-probs.ts';
import { logitsProcessors } from './logits-processors.ts';
import { chooseToken, greedySampler, MultinomialSampler, SeededRandom } from './sampler.ts';

describe('chooseToken', () => {
  const logits = [0, 1, 0.5, -1];

  it('is greedy with the greedy sampler and reports the model log-probability', () => {
    const c = chooseToken(logits, [], greedySampler, []);
    expect(c.token).toBe(1);
    expect(c.logProb).toBeCloseTo(logSoftmax(logits)[1], 12);
    expect(c.logProbs).toBeUndefined();
    // the whole row only when asked for (top_logprobs)
    expect(Array.from(chooseToken(logits, [], greedySampler, [], true).logProbs!)).toEqual(Array.from(logSoftmax(logits)));
    expect(Number.isNaN(chooseToken(logits, [], greedySampler, [], false, false).logProb)).toBe(true);
  });

  it('samples reproducibly from a seed, matching the distribution', () => {
    const draw = (seed: number) => {
      const sampler = new MultinomialSampler(new SeededRandom(seed));
      return Array.from({ length: 4000 }, () => chooseToken(logits, [], sampler, []).token);
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
    const p = logSoftmax(logits).map(Math.exp);
    for (let t = 0; t < 4; t++) expect(a.filter((x) => x === t).length / a.length).toBeCloseTo(p[t], 1);
  });

  it("top_k 1 and low temperature collapse sampling onto the best token; the log-probability stays the model's", () => {
    const sampler = new MultinomialSampler(new SeededRandom(1));
    const topK1 = logitsProcessors({ temperature: 1, topK: 1, topP: 1, repetitionPenalty: 1 });
    const cold = logitsProcessors({ temperature: 0.01, topK: 0, topP: 1, repetitionPenalty: 1 });
    for (let i = 0; i < 50; i++) expect(chooseToken(logits, topK1, sampler, []).token).toBe(1);
    for (let i = 0; i < 50; i++) expect(chooseToken(logits, cold, sampler, []).token).toBe(1);
    expect(chooseToken(logits, cold, sampler, []).logProb).toBeCloseTo(logSoftmax(logits)[1], 12);
  });

  it('a strong repetition penalty moves greedy off a repeated token', () => {
    const processors = logitsProcessors({ temperature: 0, topK: 0, topP: 1, repetitionPenalty: 3 });
    expect(chooseToken(logits, processors, greedySampler, [1]).token).toBe(2);
  });
});
