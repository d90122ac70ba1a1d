import { Tensor } from 'onnxruntime-common';
import { invalidArgument } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { TextSpec } from '../manifest.ts';
import { marginals, viterbi, type CrfParameters } from '../decode/crf.ts';
import { tokenizeWords, type Token } from '../text/tokenize.ts';
import { charNgramIds, wordShape, type Vocabulary } from '../text/word-features.ts';
import { bioSpans, type Slot } from './bio-spans.ts';

export interface SlotFillingResult {
  tokens: string[];
  tags: string[];
  slots: Slot[];
}

/** Tokenize → word features → emission graph → CRF Viterbi → slots with character offsets. */
export class SlotFiller {
  constructor(
    private readonly tagger: GraphRunner,
    private readonly text: TextSpec,
    private readonly vocabulary: Vocabulary,
    private readonly crf: CrfParameters,
    private readonly emissionsOutput: string,
  ) {}

  featurize(tokens: readonly Token[]): Record<string, Tensor> {
    const T = tokens.length;
    const { features, charNgrams } = this.text;
    const feeds: Record<string, Tensor> = {
      [features.words]: new Tensor(
        'int64',
        BigInt64Array.from(tokens, (t) => BigInt(this.vocabulary.idOf(t.text))),
        [1, T],
      ),
    };
    if (features.shapes)
      feeds[features.shapes] = new Tensor(
        'int64',
        BigInt64Array.from(tokens, (t) => BigInt(wordShape(t.text))),
        [1, T],
      );
    if (features.charNgrams && charNgrams) {
      const K = charNgrams.max;
      const ids = new BigInt64Array(T * K);
      tokens.forEach((t, i) => charNgramIds(t.text, charNgrams).forEach((id, k) => (ids[i * K + k] = BigInt(id))));
      feeds[features.charNgrams] = new Tensor('int64', ids, [1, T, K]);
    }
    return feeds;
  }

  async fill(text: string): Promise<SlotFillingResult> {
    const tokens = tokenizeWords(text);
    if (tokens.length === 0) throw invalidArgument('text', 'must contain at least one word');
    if (tokens.length > this.text.maxTokens) throw invalidArgument('text', `has ${tokens.length} tokens; this model accepts at most ${this.text.maxTokens}`);
    const out = await this.tagger.run(this.featurize(tokens));
    const emissions = out[this.emissionsOutput].data as Float32Array;
    const path = viterbi(emissions, tokens.length, this.crf);
    const probs = marginals(emissions, tokens.length, this.crf);
    const tags = path.map((j) => this.crf.labels[j]);
    return {
      tokens: tokens.map((t) => t.text),
      tags,
      slots: bioSpans(
        text,
        tokens,
        tags,
        path.map((j, t) => probs[t][j]),
      ),
    };
  }
}
