import { describe, expect, it } from 'vitest';
import { characterErrors, editDistance, wordErrors } from './edit-distance.ts';

describe('edit distance', () => {
  it('counts substitutions, insertions and deletions', () => {
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(editDistance([], [1, 2])).toBe(2);
    expect(wordErrors('where is mary', 'where is the mary')).toBe(1);
    expect(wordErrors('a b c', '  ')).toBe(3);
    expect(characterErrors('where is mary', 'were is marry')).toBe(2);
    expect(characterErrors('naïve 東京', 'naive 東京')).toBe(1); // code points, not bytes
    expect(characterErrors('𠮷野家', '吉野家')).toBe(1); // nor UTF-16 units (𠮷 is two of them)
  });
});
