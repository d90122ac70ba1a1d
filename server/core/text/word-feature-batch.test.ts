import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest.ts';
import { tokenizeWords } from './tokenize.ts';
import { wordFeatureFeeds, wordFeatureRow } from './word-feature-batch.ts';
import { Vocabulary } from './word-features.ts';

const SPAM_DIR = path.resolve(import.meta.dirname, '../../../models/spam');

interface SampleRow {
  id: string;
  text: string;
  word_ids: number[];
  shape_ids: number[];
  ngram_ids?: number[][];
}

const manifest = parseManifest(JSON.parse(readFileSync(path.join(SPAM_DIR, 'manifest.json'), 'utf8')));
const text = manifest.text!;
const vocabulary = new Vocabulary(JSON.parse(readFileSync(path.join(SPAM_DIR, text.vocabulary), 'utf8')) as string[]);
const sample = readFileSync(path.join(SPAM_DIR, 'heldout-sample.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as SampleRow);

describe('word feature batches', () => {
  it("give the spam recipe's word, shape and n-gram ids for every committed held-out message", () => {
    expect(sample.length).toBeGreaterThanOrEqual(40);
    let withNgrams = 0;
    for (const row of sample) {
      const tokens = tokenizeWords(row.text);
      expect(tokens.length, row.id).toBeLessThanOrEqual(text.maxTokens);
      const f = wordFeatureRow(tokens, text, vocabulary);
      expect(f.words, row.id).toEqual(row.word_ids);
      expect(f.shapes, row.id).toEqual(row.shape_ids);
      if (row.ngram_ids) {
        expect(f.ngrams, row.id).toEqual(row.ngram_ids);
        withNgrams++;
      }
    }
    expect(withNgrams).toBeGreaterThanOrEqual(8);
  });

  it('pads rows with 0 at the end of each row', () => {
    const spec = { ...text, charNgrams: { n: 3, buckets: 64, max: 2 } };
    const rows = ['Win money now', 'hi'].map((t) => wordFeatureRow(tokenizeWords(t), spec, vocabulary));
    const feeds = wordFeatureFeeds(rows, spec);
    expect(feeds.word_ids.dims).toEqual([2, 3]);
    expect(feeds.ngram_ids.dims).toEqual([2, 3, 2]);
    const words = Array.from(feeds.word_ids.data as BigInt64Array, Number);
    expect(words.slice(0, 3)).toEqual(rows[0].words);
    expect(words.slice(3)).toEqual([rows[1].words[0], 0, 0]);
    const ngrams = Array.from(feeds.ngram_ids.data as BigInt64Array, Number);
    expect(ngrams.slice(6, 8)).toEqual(rows[1].ngrams[0]);
    expect(ngrams.slice(8)).toEqual([0, 0, 0, 0]);
    expect(Array.from(feeds.shape_ids.data as BigInt64Array, Number).slice(3)).toEqual([1, 0, 0]);
  });
});
