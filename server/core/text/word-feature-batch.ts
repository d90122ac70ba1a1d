/**
 * The word-level text models' inputs for a batch of texts: tokens (tokenize.ts) → per-token word id,
 * hashed character n-grams and shape (word-features.ts) → padded int64 tensors named as the
 * manifest's `text.features` says. Padding (id 0) is at the end of each row, so a recurrent graph's
 * forward pass over a row is unchanged by the longer rows beside it. Mirrors the recipes' feature
 * code (models/_recipe_common/text_features.py; models/spam/recipe/train.py `features`/`batchify`).
 */
import { Tensor } from 'onnxruntime-common';
import type { TextSpec } from '../manifest.ts';
import type { Token } from './tokenize.ts';
import { charNgramIds, wordShape, type Vocabulary } from './word-features.ts';

/** The features of one text's tokens, as the recipes compute them. */
export interface WordFeatureRow {
  words: number[];
  shapes: number[];
  /** Hashed character n-grams per token (at most `charNgrams.max` each); empty without charNgrams. */
  ngrams: number[][];
}

export function wordFeatureRow(tokens: readonly Token[], text: TextSpec, vocabulary: Vocabulary): WordFeatureRow {
  const { charNgrams } = text;
  return {
    words: tokens.map((t) => vocabulary.idOf(t.text)),
    shapes: tokens.map((t) => wordShape(t.text)),
    ngrams: charNgrams ? tokens.map((t) => charNgramIds(t.text, charNgrams)) : [],
  };
}

/** The graph feeds for rows of features, padded with 0 to the longest row ([B, T] and [B, T, K]). */
export function wordFeatureFeeds(rows: readonly WordFeatureRow[], text: TextSpec): Record<string, Tensor> {
  const B = rows.length;
  let T = 0;
  for (const r of rows) T = Math.max(T, r.words.length);
  const words = new BigInt64Array(B * T);
  const shapes = new BigInt64Array(B * T);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.words.length; t++) {
      words[b * T + t] = BigInt(r.words[t]);
      shapes[b * T + t] = BigInt(r.shapes[t]);
    }
  });
  const { features, charNgrams } = text;
  const feeds: Record<string, Tensor> = { [features.words]: new Tensor('int64', words, [B, T]) };
  if (features.shapes) feeds[features.shapes] = new Tensor('int64', shapes, [B, T]);
  if (features.charNgrams && charNgrams) {
    const K = charNgrams.max;
    const ids = new BigInt64Array(B * T * K);
    rows.forEach((r, b) =>
      r.ngrams.forEach((grams, t) => {
        for (let k = 0; k < grams.length; k++) ids[(b * T + t) * K + k] = BigInt(grams[k]);
      }),
    );
    feeds[features.charNgrams] = new Tensor('int64', ids, [B, T, K]);
  }
  return feeds;
}
