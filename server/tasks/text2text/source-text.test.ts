import { describe, expect, it } from 'vitest';
import { SpelledWordTokenizer } from '../../core/text/spelled-word-tokenizer.ts';
import { CharacterEncoder, WordEncoder } from './source-text.ts';

const LETTERS = ['<pad>', '<s>', '</s>', '<unk>', "'", ...'abcdefghijklmnopqrstuvwxyz'];

describe('CharacterEncoder', () => {
  const encoder = new CharacterEncoder(LETTERS, 8, true);

  it('reads one token per character, lower-cased and trimmed', () => {
    expect(encoder.alphabet).toEqual(["'", ...'abcdefghijklmnopqrstuvwxyz']);
    expect(encoder.encode(" Bob's\n", 'prompt')).toEqual({ ids: [6, 19, 6, 4, 23], pieces: ['b', 'o', 'b', "'", 's'] });
  });

  it('refuses empty, over-long and unreadable prompts naming the field and the characters', () => {
    expect(() => encoder.encode('  ', 'prompt')).toThrow(/is empty/);
    expect(() => encoder.encode('abcdefghi', 'prompt[2]')).toThrow(
      expect.objectContaining({ field: 'prompt[2]', message: expect.stringMatching(/9 characters long; the model reads at most 8/) }),
    );
    expect(() => encoder.encode('naïve2', 'prompt')).toThrow(/characters outside the model's alphabet: "ï" \(U\+00EF\), "2" \(U\+0032\)/);
    expect(() => encoder.encode('new york', 'prompt')).toThrow(/one word per prompt/);
    expect(() => encoder.encode('🙂', 'prompt')).toThrow(/U\+1F642/);
  });

  it('keeps case when the manifest does not lower-case', () => {
    expect(() => new CharacterEncoder(LETTERS, 8, false).encode('Ab', 'prompt')).toThrow(/"A"/);
  });
});

describe('WordEncoder', () => {
  it("reads words as chat's tokenizer does", () => {
    const vocab = ['<pad>', '<s>', '</s>', '<unk>', 'hello', '@w', '#o'];
    const encoder = new WordEncoder(new SpelledWordTokenizer(vocab, 3, new Set([0, 1, 2, 3])), 4);
    expect(encoder.encode('hello wo', 'prompt').ids).toEqual([4, 5, 6]);
    expect(() => encoder.encode('', 'prompt')).toThrow(/empty/);
    expect(() => encoder.encode('hello hello hello hello hello', 'prompt')).toThrow(/5 tokens long/);
  });
});
