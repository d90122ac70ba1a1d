/**
 * Samplers pick the next token from a row of processed logits: greedy (the most likely token) or
 * multinomial from a seeded random source (same seed, same tokens). `chooseToken` applies a
 * request's logits processors, then its sampler, and reports the token's log-probability under the
 * model's own distribution (before processing, as OpenAI's logprobs).
 */
import type { SeededRandom } from '../random.ts';
import { argmax, logSoftmax, logSumExp } from './log-probs.ts';
import type { LogitsProcessor } from './logits-processors.ts';

export { SeededRandom } from '../random.ts';

export interface Sampler {
  /** Greedy samplers always pick the largest logit (which allows a fast path without copies). */
  readonly greedy: boolean;
  pick(logits: ArrayLike<number>): number;
}

export const greedySampler: Sampler = { greedy: true, pick: argmax };

/** Draws a token with probability softmax(logits), from a seeded random source. */
export class MultinomialSampler implements Sampler {
  readonly greedy = false;

  constructor(private readonly random: SeededRandom) {}

  pick(logits: ArrayLike<number>): number {
    const logProbs = logSoftmax(logits);
    let u = this.random.next();
    for (let i = 0; i < logProbs.length; i++) {
      const p = Math.exp(logProbs[i]);
      if (u < p) return i;
      u -= p;
    }
    return argmax(logProbs); // rounding left u above the total mass
  }
}

export interface TokenChoice {
  token: number;
  /** ln P(token) under the model's distribution (before processing, as OpenAI's logprobs). */
  logProb: number;
  /** The model's log-probabilities of every token (for top_logprobs), when asked for. */
  logProbs?: Float64Array;
}

/**
 * Picks the next token: the processors in order on a copy of the row, then the sampler.
 * `wantLogProbs` also returns the whole row of log-probabilities (for top_logprobs); without it,
 * greedy decoding with no processors makes no copy of the row, and without `wantLogProb` it does not
 * compute the chosen token's log-probability either (NaN).
 */
export function chooseToken(
  logits: ArrayLike<number>,
  processors: readonly LogitsProcessor[],
  sampler: Sampler,
  generated: readonly number[],
  wantLogProbs = false,
  wantLogProb = true,
): TokenChoice {
  if (sampler.greedy && processors.length === 0) {
    const token = argmax(logits);
    if (wantLogProbs) {
      const logProbs = logSoftmax(logits);
      return { token, logProb: logProbs[token], logProbs };
    }
    return { token, logProb: wantLogProb ? logits[token] - logSumExp(logits) : NaN };
  }
  const modelLogProbs = logSoftmax(logits);
  let x: ArrayLike<number> = logits;
  if (processors.length > 0) {
    const copy = Float64Array.from(logits);
    for (const p of processors) p.apply(copy, generated);
    x = copy;
  }
  const token = sampler.pick(x);
  return { token, logProb: modelLogProbs[token], logProbs: modelLogProbs };
}
