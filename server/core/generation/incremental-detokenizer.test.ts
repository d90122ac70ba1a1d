import { describe, expect, it } from 'vitest';
import { SpelledWordTokenizer } from '../text/spelled-word-tokenizer.ts';
import { IncrementalDetokenizer } from './incremental-detokenizer.ts';

// specials, words, punctuation (":" and "/" join the next word), and spelling tokens
const VOCAB = ['<pad>', '<s>', '</s>', '<unk>', 'to', 'tokyo', '.', ',', ':', '/', '@t', '#a', '#i', '@p', '#e', '3rd'];
const tokenizer = new SpelledWordTokenizer(VOCAB, 3, new Set([0, 1, 2, 3]));

function deltas(ids: number[]): string[] {
  const d = new IncrementalDetokenizer(tokenizer);
  return ids.map((_, i) => d.next(ids.slice(0, i + 1)));
}

describe('IncrementalDetokenizer', () => {
  it('gives the text each token adds: words with spaces, punctuation, spelled letters joined', () => {
    const ids = [4, 10, 11, 12, 7, 13, 14, 6]; // to @t #a #i , @p #e .
    expect(deltas(ids)).toEqual(['to', ' t', 'a', 'i', ',', ' p', 'e', '.']);
  });

  it('tokens that produce no text (specials) add nothing and do not break a spelled word', () => {
    expect(deltas([10, 3, 11, 2, 5])).toEqual(['t', '', 'a', '', ' tokyo']);
    expect(deltas([3, 3, 4])).toEqual(['', '', 'to']);
  });

  it('always adds up to decoding the whole sequence (random sequences)', () => {
    let seed = 11;
    const rnd = (n: number) => (seed = (seed * 16807) % 2147483647) % n;
    for (let trial = 0; trial < 500; trial++) {
      const ids = Array.from({ length: 1 + rnd(12) }, () => rnd(VOCAB.length));
      const d = deltas(ids);
      d.forEach((_, i) => expect(d.slice(0, i + 1).join('')).toBe(tokenizer.decode(ids.slice(0, i + 1))));
    }
  });
});
