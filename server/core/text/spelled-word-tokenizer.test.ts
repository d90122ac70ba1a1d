import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpelledWordTokenizer, words } from './spelled-word-tokenizer.ts';

const VOCAB = ['<pad>', '<s>', '</s>', '<unk>', '@t', '#o', '#k', '#y', '@a', '#b', 'to', 'fly', '.', ':', '/', '@1', '#0', '@3', '#3', '@4', '#4', '@x'];
const tok = new SpelledWordTokenizer(VOCAB, 3, new Set([0, 1, 2, 3]));

describe('SpelledWordTokenizer', () => {
  it('splits words and punctuation, lower-cased', () => {
    expect(words("Fly to TOKYO, at 10:30 o'clock!")).toEqual(['fly', 'to', 'tokyo', ',', 'at', '10', ':', '30', "o'clock", '!']);
  });

  it('keeps vocabulary words whole and spells the rest, with <unk> for unknown characters', () => {
    expect(tok.encode('fly to toky')).toEqual([11, 10, 4, 5, 6, 7]);
    expect(tok.encode('ab z')).toEqual([8, 9, 3]);
  });

  it('decodes spelled words back together and places punctuation', () => {
    expect(tok.decode(tok.encode('fly to toky.'))).toBe('fly to toky.');
    expect(tok.decode([15, 16, 13, 17, 18])).toBe('10:33');
    expect(tok.decode([19, 14, 20])).toBe('4/4');
    expect(tok.decode([1, 11, 2, 0])).toBe('fly');
  });

  it('agrees with the recipe tokenizer (Python) on the bundled chat model', () => {
    const dir = path.resolve(import.meta.dirname, '..', '..', '..', 'models', 'chat');
    const vocab = JSON.parse(readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as string[];
    const bundled = new SpelledWordTokenizer(vocab, 3, new Set([0, 1, 2, 3, 4, 5]));
    const cases = readFileSync(path.join(dir, 'tokenizer-fixtures.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; ids: number[]; decoded: string });
    expect(cases.length).toBeGreaterThan(5);
    for (const c of cases) {
      expect(bundled.encode(c.text)).toEqual(c.ids);
      expect(bundled.decode(c.ids)).toBe(c.decoded);
    }
  });
});
