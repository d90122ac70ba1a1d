import { describe, expect, it } from 'vitest';
import { GREEDY, logitsProcessors, RepetitionPenalty, Temperature, TopK, TopP } from './logits-processors.ts';

describe('logits processors', () => {
  it('repetition penalty shrinks positive and grows negative logits of generated tokens only', () => {
    const x = Float64Array.from([2, -2, 2]);
    new RepetitionPenalty(2).apply(x, [0, 1, 1]);
    expect([...x]).toEqual([1, -4, 2]);
  });

  it('temperature divides every logit', () => {
    const x = Float64Array.from([2, -1]);
    new Temperature(2).apply(x);
    expect([...x]).toEqual([1, -0.5]);
  });

  it('top-k keeps exactly k tokens, top-p the smallest set reaching p', () => {
    const x = Float64Array.from([1, 4, 3, 2]);
    new TopK(2).apply(x);
    expect([...x]).toEqual([-Infinity, 4, 3, -Infinity]);
    const probs = [0.5, 0.3, 0.15, 0.05];
    const y = Float64Array.from(probs.map(Math.log));
    new TopP(0.8).apply(y);
    expect([...y].map((v) => v > -Infinity)).toEqual([true, true, false, false]);
    const z = Float64Array.from(probs.map(Math.log));
    new TopP(0.81).apply(z);
    expect([...z].map((v) => v > -Infinity)).toEqual([true, true, true, false]);
    const w = Float64Array.from(probs.map(Math.log));
    new TopP(0.1).apply(w);
    expect([...w].filter((v) => v > -Infinity)).toHaveLength(1);
  });

  it('a request gets the processors its parameters call for, in order', () => {
    const names = (p: Parameters<typeof logitsProcessors>[0]) => logitsProcessors(p).map((x) => x.constructor.name);
    expect(names(GREEDY)).toEqual([]);
    expect(names({ ...GREEDY, topK: 5, topP: 0.5, repetitionPenalty: 1.2 })).toEqual(['RepetitionPenalty']); // greedy: the others keep the best token
    expect(names({ temperature: 0.7, topK: 5, topP: 0.9, repetitionPenalty: 1.2 })).toEqual(['RepetitionPenalty', 'Temperature', 'TopK', 'TopP']);
    expect(names({ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 })).toEqual([]);
  });
});
