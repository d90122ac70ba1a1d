import { describe, expect, it } from 'vitest';
import { NgramLm } from './ngram-lm.ts';
import { TINY_ARPA } from './scorer-test-fixtures.ts';

describe('NgramLm (ARPA)', () => {
  const lm = NgramLm.fromArpa(TINY_ARPA);
  const ln = (x: number) => x * Math.log(10);

  it('reads the order and scores seen n-grams', () => {
    expect(lm.order).toBe(2);
    expect(lm.score(['<s>'], 'a')).toBeCloseTo(ln(-0.1), 10);
    expect(lm.score(['x', 'a'], 'b')).toBeCloseTo(ln(-0.2), 10);
  });

  it('backs off through the context weight to the unigram', () => {
    // P(a | b) is unseen: backoff(b) + P(a)
    expect(lm.score(['b'], 'a')).toBeCloseTo(ln(-0.1 + -0.30103), 10);
    // unknown context word: no backoff weight, straight to the unigram
    expect(lm.score(['zzz'], 'b')).toBeCloseTo(ln(-0.60206), 10);
  });

  it('scores unknown words with <unk> and knows its vocabulary prefixes', () => {
    expect(lm.score(['a'], 'nope')).toBeCloseTo(ln(-0.2 + -1.0), 10);
    expect(lm.hasPrefix('a')).toBe(true);
    expect(lm.hasPrefix('q')).toBe(false);
    expect(lm.has('b')).toBe(true);
  });

  it('looks ahead: the best unigram of the words a prefix starts, none for special tokens', () => {
    const two = NgramLm.fromArpa('\\data\\\n\\1-grams:\n-1 <unk>\n-2 ab\n-0.5 ac\n-3 b\n\\end\\\n');
    expect(two.lookahead('a')).toBeCloseTo(ln(-0.5), 10);
    expect(two.lookahead('ab')).toBeCloseTo(ln(-2), 10);
    expect(two.lookahead('abc')).toBeUndefined();
    expect(two.lookahead('<')).toBeUndefined();
    expect(two.unk).toBeCloseTo(ln(-1), 10);
  });

  it('rejects text that is not ARPA with the file name and line', () => {
    expect(() => NgramLm.fromArpa('hello world', 'lm.arpa')).toThrow(/lm\.arpa: line 1/);
    expect(() => NgramLm.fromArpa('\\data\\\n\\1-grams:\nx y\n', 'lm.arpa')).toThrow(/line 3: not a 1-gram/);
    expect(() => NgramLm.fromArpa('', 'lm.arpa')).toThrow(/no n-grams/);
  });
});
