import { describe, expect, it } from 'vitest';
import { editDistance, wordErrors } from './edit-distance.ts';

describe('edit distance', () => {
  it('counts substitutions, insertions and deletions', () => {
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(editDistance([], [1, 2])).toBe(2);
    expect(wordErrors('where is mary', 'where is the mary')).toBe(1);
    expect(wordErrors('a b c', '  ')).toBe(3);
  });
});
