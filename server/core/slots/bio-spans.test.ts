import { describe, expect, it } from 'vitest';
import { tokenizeWords } from '../text/tokenize.ts';
import { bioSpans } from './bio-spans.ts';

describe('bioSpans', () => {
  const text = 'leave New York on November 2nd';
  const tokens = tokenizeWords(text);

  it('groups B-/I- tags into slots with character offsets into the text', () => {
    const tags = ['O', 'B-fromloc.city_name', 'I-fromloc.city_name', 'O', 'B-depart_date', 'I-depart_date'];
    const slots = bioSpans(text, tokens, tags, [1, 0.9, 0.7, 1, 0.5, 1]);
    expect(slots).toEqual([
      { name: 'fromloc.city_name', value: 'New York', start: 6, end: 14, confidence: 0.8 },
      { name: 'depart_date', value: 'November 2nd', start: 18, end: 30, confidence: 0.75 },
    ]);
    for (const s of slots) expect(text.slice(s.start, s.end)).toBe(s.value);
  });

  it('starts a new slot at an I- tag that does not continue the open one', () => {
    const tags = ['O', 'I-toloc.city_name', 'I-fromloc.city_name', 'O', 'O', 'O'];
    expect(bioSpans(text, tokens, tags, [1, 1, 1, 1, 1, 1]).map((s) => [s.name, s.value])).toEqual([
      ['toloc.city_name', 'New'],
      ['fromloc.city_name', 'York'],
    ]);
  });

  it('splits adjacent B- tags of the same name', () => {
    const tags = ['O', 'B-x', 'B-x', 'O', 'O', 'O'];
    expect(bioSpans(text, tokens, tags, [1, 1, 1, 1, 1, 1]).map((s) => s.value)).toEqual(['New', 'York']);
  });
});
