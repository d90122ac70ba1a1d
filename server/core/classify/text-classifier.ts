/**
 * Many-to-one text classification: tokenize each text → word features → one run of the classifier
 * graph for the whole batch (padded) → softmax over the label scores; with the token's character
 * offsets, the attention pooling's weight of each token (the words a recurrent path weighed most)
 * and, for a graph with a `tokenLogits` output, each token's additive share of each label's logit
 * (the words that moved the decision, and which way).
 */
import { invalidArgument } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { ClassificationSpec, TextSpec } from '../manifest.ts';
import { tokenizeWords, type Token } from '../text/tokenize.ts';
import { wordFeatureFeeds, wordFeatureRow } from '../text/word-feature-batch.ts';
import type { Vocabulary } from '../text/word-features.ts';

export interface LabelScore {
  label: string;
  score: number;
}

/** A token and the attention weight the model gave it; `start`/`end` are offsets into the text. */
export interface TokenAttention extends Token {
  weight: number;
}

/** A token and its additive share of each label's logit (index = label, as `labels`). */
export interface TokenLogits extends Token {
  logits: number[];
}

/** The logits split into a sum over tokens and a rest: `Σ tokens[i].logits[j] + rest[j]` is label j's raw score. */
export interface LogitContributions {
  tokens: TokenLogits[];
  /** What the tokens' shares leave of each label's raw score (paths that read the text as a whole, biases). */
  rest: number[];
}

export interface ClassificationResult {
  /** Every label, best first: softmax probabilities, or the graph's raw scores with `rawScores`. */
  scores: LabelScore[];
  /** Tokens the model read (fewer than the text's when it was truncated). */
  tokenCount: number;
  truncated: boolean;
  /** Each token's attention weight (they sum to 1), when asked for and the model has it. */
  attention?: TokenAttention[];
  /** Each token's share of the logits, when asked for and the model has it. */
  contributions?: LogitContributions;
}

export interface ClassifyOptions {
  /** Cut texts longer than the model's `text.maxTokens` instead of refusing them. */
  truncate?: boolean;
  rawScores?: boolean;
  attention?: boolean;
  /** Each token's share of the logits (`classification.tokenLogits`). */
  contributions?: boolean;
  /** The request field of text i, for errors (default `inputs[i]`). */
  field?: (i: number) => string;
}

/** Label → value, in the model's label order (`values[j]` is `labels[j]`'s). */
export function byLabel(labels: readonly string[], values: readonly number[]): Record<string, number> {
  return Object.fromEntries(labels.map((label, j) => [label, values[j]]));
}

/**
 * A token's push toward label `top`: its share of that label's logit minus its mean share of the
 * `others`' (positive toward `top`, negative against it); `logits` maps label → share.
 */
export function pushToward(logits: Readonly<Record<string, number>>, top: string, others: readonly string[]): number {
  return logits[top] - others.reduce((a, l) => a + logits[l], 0) / Math.max(1, others.length);
}

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const e = Array.from(logits, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

export class TextClassifier {
  constructor(
    private readonly classifier: GraphRunner,
    readonly text: TextSpec,
    private readonly vocabulary: Vocabulary,
    readonly classification: ClassificationSpec,
  ) {}

  get labels(): readonly string[] {
    return this.classification.labels;
  }

  get hasAttention(): boolean {
    return this.classification.attention !== undefined;
  }

  get hasContributions(): boolean {
    return this.classification.tokenLogits !== undefined;
  }

  /** The tokens the model reads of a text; refuses an empty text, and one too long unless `truncate`. */
  tokens(text: string, field: string, truncate = false): { tokens: Token[]; truncated: boolean } {
    const tokens = tokenizeWords(text);
    if (tokens.length === 0) throw invalidArgument(field, 'must contain at least one word');
    const max = this.text.maxTokens;
    if (tokens.length <= max) return { tokens, truncated: false };
    if (!truncate) throw invalidArgument(field, `has ${tokens.length} tokens; this model accepts at most ${max} (or set truncate: true)`);
    return { tokens: tokens.slice(0, max), truncated: true };
  }

  /** What `classify` would refuse (an empty or over-long text, attention from a model without it), thrown at once. */
  validate(texts: readonly string[], options: ClassifyOptions = {}): void {
    this.read(texts, options);
  }

  private read(texts: readonly string[], options: ClassifyOptions): { tokens: Token[]; truncated: boolean }[] {
    const field = options.field ?? ((i: number) => `inputs[${i}]`);
    if (options.attention && !this.hasAttention) throw invalidArgument('return_attention', 'this model has no attention output (manifest classification.attention)');
    if (options.contributions && !this.hasContributions)
      throw invalidArgument('return_contributions', 'this model has no per-token logits output (manifest classification.tokenLogits)');
    return texts.map((t, i) => this.tokens(t, field(i), options.truncate));
  }

  /** Classifies the texts in one run of the graph; each result's scores are sorted best first. */
  async classify(texts: readonly string[], options: ClassifyOptions = {}): Promise<ClassificationResult[]> {
    const read = this.read(texts, options);
    const rows = read.map((r) => wordFeatureRow(r.tokens, this.text, this.vocabulary));
    const out = await this.classifier.run(wordFeatureFeeds(rows, this.text));
    const logits = out[this.classification.logits];
    const L = this.labels.length;
    if (logits.dims.length !== 2 || logits.dims[0] !== texts.length || logits.dims[1] !== L)
      throw new Error(`classifier output ${this.classification.logits} has shape [${logits.dims.join(', ')}], expected [${texts.length}, ${L}]`);
    const scores = logits.data as Float32Array;
    const attentionName = this.classification.attention;
    const attention = options.attention && attentionName !== undefined ? out[attentionName] : undefined;
    const T = attention?.dims[1] ?? 0;
    const longest = Math.max(...read.map((r) => r.tokens.length));
    if (attention && (attention.dims.length !== 2 || attention.dims[0] !== texts.length || T < longest))
      throw new Error(`classifier output ${attentionName} has shape [${attention.dims.join(', ')}], expected [${texts.length}, ${longest}]`);
    const weights = attention?.data as Float32Array | undefined;
    const tokenLogitsName = this.classification.tokenLogits;
    const tokenLogits = options.contributions && tokenLogitsName !== undefined ? out[tokenLogitsName] : undefined;
    if (tokenLogits && (tokenLogits.dims.length !== 3 || tokenLogits.dims[0] !== texts.length || tokenLogits.dims[1] < longest || tokenLogits.dims[2] !== L))
      throw new Error(`classifier output ${tokenLogitsName} has shape [${tokenLogits.dims.join(', ')}], expected [${texts.length}, ${longest}, ${L}]`);
    const shares = tokenLogits?.data as Float32Array | undefined;
    const TL = tokenLogits?.dims[1] ?? 0;
    return read.map(({ tokens, truncated }, b) => {
      const row = scores.subarray(b * L, (b + 1) * L);
      const values = options.rawScores ? Array.from(row) : softmax(row);
      const result: ClassificationResult = {
        scores: this.labels.map((label, j) => ({ label, score: values[j] })).sort((x, y) => y.score - x.score),
        tokenCount: tokens.length,
        truncated,
      };
      if (weights) result.attention = tokens.map((t, i) => ({ ...t, weight: weights[b * T + i] }));
      if (shares) {
        const rest = Array.from(row);
        const perToken = tokens.map((t, i) => {
          const logits = Array.from(shares.subarray((b * TL + i) * L, (b * TL + i + 1) * L));
          logits.forEach((v, j) => (rest[j] -= v));
          return { ...t, logits };
        });
        result.contributions = { tokens: perToken, rest };
      }
      return result;
    });
  }
}
