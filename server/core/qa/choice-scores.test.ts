import { describe, expect, it } from 'vitest';
import { scoreChoices, wordSimilarity } from './choice-scores.ts';

const answers = ['kitchen', 'garden', 'yes', 'no', 'none', 'one', 'two'];

describe('scoreChoices', () => {
  it('picks the choice holding the likely answer, with scores summing to 1', () => {
    const probs = [0.7, 0.2, 0, 0, 0, 0, 0.1];
    const { scores, best } = scoreChoices(answers, probs, ['the garden', 'the kitchen', 'hallway']);
    expect(best).toBe(1);
    expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(scores[1]).toBeGreaterThan(scores[0]);
    expect(scores[0]).toBeGreaterThan(scores[2]);
  });

  it('reads numbers and synonyms as the answer words', () => {
    const probs = [0, 0, 0, 0, 0.05, 0.05, 0.9];
    expect(scoreChoices(answers, probs, ['1', '2', 'zero']).best).toBe(1);
    expect(scoreChoices(answers, [0, 0, 0, 0, 0.9, 0.1, 0], ['two objects', 'nothing']).best).toBe(1);
  });

  it('gives near spellings partial credit', () => {
    expect(wordSimilarity('kitchen', 'kitchen')).toBe(1);
    expect(wordSimilarity('kitchens', 'kitchen')).toBeGreaterThan(0.6);
    expect(wordSimilarity('garden', 'kitchen')).toBeLessThan(0.3);
  });

  it('refuses missing, too many or empty choices', () => {
    expect(() => scoreChoices(answers, [1, 0, 0, 0, 0, 0, 0], [])).toThrow(/choices: are missing/);
    expect(() => scoreChoices(answers, [1, 0, 0, 0, 0, 0, 0], ['a'])).toThrow(/at least 2/);
    expect(() => scoreChoices(answers, [1, 0, 0, 0, 0, 0, 0], ['a', 'b', 'c', 'd', 'e'])).toThrow(/too many/);
    expect(() => scoreChoices(answers, [1, 0, 0, 0, 0, 0, 0], ['kitchen', ' ?'])).toThrow(/choices\[1\]: is empty/);
  });
});
