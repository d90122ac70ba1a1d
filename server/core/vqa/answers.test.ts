import { describe, expect, it } from 'vitest';
import { topAnswers } from './answers.ts';

describe('topAnswers', () => {
  const answers = ['red', 'green', 'yes', 'no'];
  it('softmaxes log-probabilities and logits alike, best first, k of them', () => {
    const logp = [Math.log(0.1), Math.log(0.6), Math.log(0.25), Math.log(0.05)];
    const top = topAnswers(logp, answers, 2);
    expect(top.map((a) => a.answer)).toEqual(['green', 'yes']);
    expect(top[0].probability).toBeCloseTo(0.6, 6);
    expect(top[1].probability).toBeCloseTo(0.25, 6);
    const shifted = topAnswers(
      logp.map((x) => x + 7),
      answers,
      4,
    );
    const plain = topAnswers(logp, answers, 4);
    shifted.forEach((a, i) => {
      expect(a.answer).toBe(plain[i].answer);
      expect(a.probability).toBeCloseTo(plain[i].probability, 6);
    });
    expect(shifted.reduce((s, a) => s + a.probability, 0)).toBeCloseTo(1, 6);
  });
  it('keeps the answer order on ties, and lists at least one answer', () => {
    expect(topAnswers([0, 0, 0, 0], answers, 0).map((a) => a.answer)).toEqual(['red']);
    expect(topAnswers([1, 2, 2, 0], answers, 3).map((a) => a.answer)).toEqual(['green', 'yes', 'red']);
  });
  it('refuses scores that do not match the answers', () => {
    expect(() => topAnswers([0, 1], answers, 1)).toThrow(/2 scores; the model has 4 answers/);
  });
});
