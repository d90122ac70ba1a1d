import { describe, expect, it } from 'vitest';
import { NgramLm } from './ngram-lm.ts';
import { CombinedScorer, HotwordScorer, WordLmScorer } from './prefix-scorers.ts';
import { scoreAll, TINY_ARPA } from './scorer-test-fixtures.ts';

const ALPHABET = ['<blank>', ' ', 'a', 'b', 'c'];
const ids = (text: string) => [...text].map((c) => ALPHABET.indexOf(c));

describe('WordLmScorer', () => {
  const lm = NgramLm.fromArpa(TINY_ARPA);
  const scorer = new WordLmScorer(lm, ALPHABET, 1, { alpha: 0.5, beta: 2 });

  it('adds alpha·ln P(word | history) + beta when a word ends, and the sentence end at finish', () => {
    const expected = 0.5 * (lm.score(['<s>'], 'a') + lm.score(['a'], 'b') + lm.score(['b'], '</s>')) + 2 * 2;
    expect(scoreAll(scorer, ids('a b'))).toBeCloseTo(expected, 10);
    expect(scoreAll(scorer, ids(' a  b '))).toBeCloseTo(expected, 10); // extra separators change nothing
  });

  it('scores nothing while a word is still being spelled', () => {
    const r = scorer.extend(scorer.initial(), ids('a')[0]);
    expect(r.score).toBe(0);
  });

  describe('with lookahead and an out-of-vocabulary penalty', () => {
    const ALPHA = ['<blank>', ' ', 'a', 'b', 'c'];
    const tokens = (text: string) => [...text].map((c) => ALPHA.indexOf(c));
    const lexicon = new WordLmScorer(lm, ALPHA, 1, { alpha: 0.5, beta: 2, lookahead: true, oovPenalty: 4 });

    it('scores a known prefix by its best unigram and an unknown one by <unk> minus the penalty', () => {
      expect(lexicon.extend(lexicon.initial(), tokens('a')[0]).score).toBeCloseTo(0.5 * lm.lookahead('a')!, 10);
      expect(lexicon.extend(lexicon.initial(), tokens('c')[0]).score).toBeCloseTo(0.5 * lm.unk - 4, 10);
      // the letter that leaves the vocabulary pays the difference; later letters pay nothing more
      const a = lexicon.extend(lexicon.initial(), tokens('a')[0]);
      const ab = lexicon.extend(a.state, tokens('b')[0]);
      expect(ab.score).toBeCloseTo(0.5 * lm.unk - 4 - 0.5 * lm.lookahead('a')!, 10);
      expect(lexicon.extend(ab.state, tokens('c')[0]).score).toBeCloseTo(0, 10);
    });

    it('gives a whole sentence the plain fusion total: what it scored while spelling, the word end takes back', () => {
      const plain = new WordLmScorer(lm, ALPHA, 1, { alpha: 0.5, beta: 2 });
      for (const text of ['a b', 'ab c', 'c', 'b a ', 'cab']) expect(scoreAll(lexicon, tokens(text))).toBeCloseTo(scoreAll(plain, tokens(text)), 10);
    });

    it('counts extra words (hotwords) as vocabulary: no penalty while spelling them', () => {
      const withHotword = new WordLmScorer(lm, ALPHA, 1, { alpha: 0.5, beta: 2, lookahead: true, oovPenalty: 4 }, ['cab']);
      const c = withHotword.extend(withHotword.initial(), tokens('c')[0]);
      expect(c.score).toBeCloseTo(0.5 * lm.unk, 10);
      expect(withHotword.extend(c.state, tokens('b')[0]).score).toBeCloseTo(-4, 10); // "cb" is neither
    });
  });
});

describe('HotwordScorer', () => {
  const scorer = new HotwordScorer(
    [
      { phrase: 'Ab', boost: 1 },
      { phrase: 'ab ca', boost: 0.5 },
      { phrase: 'xyz', boost: 9 },
    ],
    ALPHABET,
    1,
  );

  it('keeps the bonus of whole phrases only, matched from a word start', () => {
    expect(scoreAll(scorer, ids('ab'))).toBeCloseTo(2, 10);
    expect(scoreAll(scorer, ids('c ab'))).toBeCloseTo(2, 10);
    expect(scoreAll(scorer, ids('cab'))).toBeCloseTo(0, 10); // not at a word start
    expect(scoreAll(scorer, ids('a'))).toBeCloseTo(0, 10); // broken off at the end: given back
    expect(scoreAll(scorer, ids('ac'))).toBeCloseTo(0, 10); // broken off in the middle
  });

  it('extends a finished phrase into a longer one and gives back only the unfinished part', () => {
    // "ab" complete (2 × 1), then " ca": three characters at max(boost) 0.5 each
    expect(scoreAll(scorer, ids('ab ca'))).toBeCloseTo(2 + 1.5, 10);
    expect(scoreAll(scorer, ids('ab c'))).toBeCloseTo(2, 10);
  });

  it('skips phrases the alphabet cannot spell', () => {
    expect(scorer.size).toBe(1);
  });
});

describe('CombinedScorer', () => {
  it('adds its scorers', () => {
    const lm = new WordLmScorer(NgramLm.fromArpa(TINY_ARPA), ALPHABET, 1, { alpha: 1, beta: 0 });
    const hot = new HotwordScorer([{ phrase: 'b', boost: 3 }], ALPHABET, 1);
    const both = new CombinedScorer([lm, hot]);
    expect(scoreAll(both, ids('a b'))).toBeCloseTo(scoreAll(lm, ids('a b')) + 3, 10);
  });
});
