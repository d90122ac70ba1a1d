import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { TextSpec } from '../manifest.ts';
import { Vocabulary } from '../text/word-features.ts';
import { byLabel, pushToward, softmax, TextClassifier } from './text-classifier.ts';

const text = TextSpec.parse({ tokenizer: 'word', vocabulary: 'vocab.json', features: { words: 'word_ids', shapes: 'shape_ids' }, maxTokens: 4 });
const vocabulary = new Vocabulary(['<pad>', '<unk>', 'free', 'money', 'meeting']);

/**
 * A fake classifier: spam logit = count of "free"/"money" tokens, attention uniform over the row's
 * tokens, and per-token logits giving each such token 0.75 of its 1 (the other 0.25 is the rest).
 */
function fakeRunner(runs: TensorMap[]): GraphRunner {
  return {
    inputNames: ['word_ids', 'shape_ids'],
    outputNames: ['logits', 'attention', 'token_logits'],
    run: (feeds) => {
      runs.push(feeds);
      const [B, T] = feeds.word_ids.dims;
      const ids = Array.from(feeds.word_ids.data as BigInt64Array, Number);
      const logits = new Float32Array(B * 2);
      const attention = new Float32Array(B * T);
      const tokenLogits = new Float32Array(B * T * 2);
      for (let b = 0; b < B; b++) {
        const row = ids.slice(b * T, (b + 1) * T);
        const n = row.filter((x) => x !== 0).length;
        logits[b * 2 + 1] = row.filter((x) => x === 2 || x === 3).length;
        for (let t = 0; t < n; t++) attention[b * T + t] = 1 / n;
        row.forEach((x, t) => (tokenLogits[(b * T + t) * 2 + 1] = x === 2 || x === 3 ? 0.75 : 0));
      }
      return Promise.resolve({
        logits: new Tensor('float32', logits, [B, 2]),
        attention: new Tensor('float32', attention, [B, T]),
        token_logits: new Tensor('float32', tokenLogits, [B, T, 2]),
      });
    },
  };
}

describe('TextClassifier', () => {
  const runs: TensorMap[] = [];
  const classifier = new TextClassifier(fakeRunner(runs), text, vocabulary, { labels: ['ham', 'spam'], logits: 'logits', attention: 'attention' });

  it('classifies a batch in one run, scores sorted best first, attention with offsets', async () => {
    runs.length = 0;
    const [a, b] = await classifier.classify(['FREE money!', 'meeting'], { attention: true });
    expect(runs).toHaveLength(1);
    expect(runs[0].word_ids.dims).toEqual([2, 3]);
    expect(a.scores.map((s) => s.label)).toEqual(['spam', 'ham']);
    expect(a.scores[0].score).toBeCloseTo(softmax([0, 2])[1], 6);
    expect(b.scores.map((s) => s.label)).toEqual(['ham', 'spam']);
    expect(a.attention).toEqual([
      { text: 'FREE', start: 0, end: 4, weight: expect.closeTo(1 / 3, 6) as number },
      { text: 'money', start: 5, end: 10, weight: expect.closeTo(1 / 3, 6) as number },
      { text: '!', start: 10, end: 11, weight: expect.closeTo(1 / 3, 6) as number },
    ]);
    expect(b.attention).toHaveLength(1);
  });

  it('gives raw scores and leaves attention out unless asked', async () => {
    const [r] = await classifier.classify(['free money'], { rawScores: true });
    expect(r.scores).toEqual([
      { label: 'spam', score: 2 },
      { label: 'ham', score: 0 },
    ]);
    expect(r.attention).toBeUndefined();
  });

  it('refuses empty and over-long texts naming the field, or truncates when asked', async () => {
    await expect(classifier.classify(['ok', ' ?'.slice(0, 1)])).rejects.toThrow(/^inputs\[1\]: must contain at least one word/);
    const err = (await classifier.classify(['a b c d e'], { field: () => 'inputs' }).catch((e: unknown) => e)) as SeqserveError;
    expect(err.code).toBe('invalid_argument');
    expect(err.field).toBe('inputs');
    expect(err.message).toMatch(/has 5 tokens; this model accepts at most 4/);
    const [t] = await classifier.classify(['a b c d e'], { truncate: true, attention: true });
    expect(t.truncated).toBe(true);
    expect(t.tokenCount).toBe(4);
    expect(t.attention?.map((x) => x.text)).toEqual(['a', 'b', 'c', 'd']);
  });

  it("splits the logits into each token's share and a rest when asked, for a model with per-token logits", async () => {
    const withShares = new TextClassifier(fakeRunner([]), text, vocabulary, { labels: ['ham', 'spam'], logits: 'logits', tokenLogits: 'token_logits' });
    const [a, b] = await withShares.classify(['FREE money!', 'meeting'], { contributions: true, rawScores: true });
    expect(a.contributions).toEqual({
      tokens: [
        { text: 'FREE', start: 0, end: 4, logits: [0, 0.75] },
        { text: 'money', start: 5, end: 10, logits: [0, 0.75] },
        { text: '!', start: 10, end: 11, logits: [0, 0] },
      ],
      rest: [0, 0.5],
    });
    expect(b.contributions).toEqual({ tokens: [{ text: 'meeting', start: 0, end: 7, logits: [0, 0] }], rest: [0, 0] });
    expect((await withShares.classify(['free']))[0].contributions).toBeUndefined();
    // a model without the output refuses the request, naming the field
    const err = (await classifier.classify(['free'], { contributions: true }).catch((e: unknown) => e)) as SeqserveError;
    expect(err.code).toBe('invalid_argument');
    expect(err.field).toBe('return_contributions');
    expect(() => classifier.validate(['free'], { contributions: true })).toThrow(/no per-token logits output/);
    // an output with fewer token rows than the text has tokens is a broken graph, not a short answer
    const short = new TextClassifier(
      { ...fakeRunner([]), run: async (feeds) => ({ ...(await fakeRunner([]).run(feeds)), token_logits: new Tensor('float32', new Float32Array(2), [1, 1, 2]) }) },
      text,
      vocabulary,
      { labels: ['ham', 'spam'], logits: 'logits', tokenLogits: 'token_logits' },
    );
    await expect(short.classify(['free money'], { contributions: true })).rejects.toThrow(/output token_logits has shape \[1, 1, 2\], expected \[1, 2, 2\]/);
  });

  it("maps values to labels, and measures a token's push toward a label against the others' mean", () => {
    expect(byLabel(['ham', 'spam'], [0, 0.75])).toEqual({ ham: 0, spam: 0.75 });
    expect(pushToward({ ham: 0, spam: 0.75 }, 'spam', ['ham'])).toBe(0.75);
    expect(pushToward({ ham: 0, spam: 0.75 }, 'ham', ['spam'])).toBe(-0.75);
    expect(pushToward({ a: 1, b: 0.5, c: -0.5 }, 'a', ['b', 'c'])).toBe(1);
    expect(pushToward({ a: 1 }, 'a', [])).toBe(1);
  });

  it('softmax is stable for large scores', () => {
    expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
  });
});
