import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenizeWords } from './tokenize.ts';
import { charNgramIds, fnv1a, normaliseWord, Vocabulary, wordShape, UNK_ID } from './word-features.ts';

const SAMPLE = "I'd like to fly from San Francisco to TAIPEI on Nov 2nd at 5:30pm, JFK or O'Hare? x_y Zürich 11/02";
const RECIPE_COMMON = path.resolve(import.meta.dirname, '../../../models/_recipe_common');

describe('word features', () => {
  it('tokenizes with character offsets', () => {
    const tokens = tokenizeWords('arrive Taipei on November 2nd, 5:30pm');
    expect(tokens.map((t) => t.text)).toEqual(['arrive', 'Taipei', 'on', 'November', '2nd', ',', '5:30', 'pm']);
    expect(tokens[1]).toEqual({ text: 'Taipei', start: 7, end: 13 });
  });

  it('hashes with FNV-1a 32-bit', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('normalises digits and case; unknown words map to <unk>', () => {
    expect(normaliseWord('2ND')).toBe('0nd');
    const v = new Vocabulary(['<pad>', '<unk>', 'taipei', '0nd']);
    expect(v.idOf('Taipei')).toBe(2);
    expect(v.idOf('3rd'.replace('rd', 'nd'))).toBe(3);
    expect(v.idOf('Kaohsiung')).toBe(UNK_ID);
  });

  it('gives the same tokens, n-grams and shapes as the Python recipes', () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(RECIPE_COMMON)})`,
      'from text_features import tokenize, char_ngrams, shape, normalise',
      `toks = tokenize(${JSON.stringify(SAMPLE)})`,
      'print(json.dumps([[t, s, e, normalise(t), char_ngrams(t, 3, 4096, 24), shape(t)] for t, s, e in toks]))',
    ].join('\n');
    const py = JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' })) as unknown[];
    const ts = tokenizeWords(SAMPLE).map((t) => [t.text, t.start, t.end, normaliseWord(t.text), charNgramIds(t.text, { n: 3, buckets: 4096, max: 24 }), wordShape(t.text)]);
    expect(ts).toEqual(py);
  });
});
