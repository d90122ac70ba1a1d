/**
 * Choosing the next token from a row of logits: logits processors (repetition penalty, temperature,
 * top-k, top-p), log-softmax, greedy choice, and seeded sampling. Plain arrays in, plain arrays out.
 */

import type { SeededRandom } from '../random.ts';

export { SeededRandom } from '../random.ts';

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Keep the k most likely tokens; 0 = off. */
  topK: number;
  /** Keep the smallest set whose probability reaches p; 1 = off. */
  topP: number;
  /** > 1 makes tokens already generated less likely (CTRL-style); 1 = off. */
  repetitionPenalty: number;
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** ln Σ exp(logits): the log-softmax normaliser, without allocating the whole row. */
export function logSumExp(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Divides positive logits by the penalty and multiplies negative ones, for every token already generated. */
export function applyRepetitionPenalty(logits: Float64Array, generated: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const t of new Set(generated)) logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty;
}

/** Sets every logit outside the k largest to -Infinity. */
export function applyTopK(logits: Float64Array, k: number): void {
  if (k <= 0 || k >= logits.length) return;
  const kth = [...logits].sort((a, b) => b - a)[k - 1];
  let kept = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > kth || (logits[i] === kth && kept < k)) kept++;
    else logits[i] = -Infinity;
  }
}

/** Keeps the most likely tokens whose probabilities sum to at least p (always at least one). */
export function applyTopP(logits: Float64Array, p: number): void {
  if (p >= 1) return;
  const lp = logSoftmax(logits);
  const order = [...lp.keys()].sort((a, b) => lp[b] - lp[a]);
  let mass = 0;
  let i = 0;
  for (; i < order.length && mass < p - 1e-9; i++) mass += Math.exp(lp[order[i]]);
  for (; i < order.length; i++) logits[order[i]] = -Infinity;
}

export interface Choice {
  token: number;
  /** ln P(token) under the model's distribution (before sampling adjustments, as OpenAI's logprobs). */
  logProb: number;
  /** The model's log-probabilities of every token (for top_logprobs), when asked for. */
  logProbs?: Float64Array;
}

/**
 * Picks the next token: greedy when temperature is 0, else a sample from the processed distribution.
 * `wantLogProbs` also returns the whole row of log-probabilities (for top_logprobs); without it, plain
 * greedy decoding makes no copy of the row, and without `wantLogProb` it does not compute the chosen
 * token's log-probability either (NaN).
 */
export function chooseToken(logits: ArrayLike<number>, params: SamplingParams, generated: readonly number[], random: SeededRandom | undefined, wantLogProbs = false, wantLogProb = true): Choice {
  const greedy = params.temperature <= 0 || !random;
  if (greedy && params.repetitionPenalty === 1) {
    const token = argmax(logits);
    if (wantLogProbs) {
      const logProbs = logSoftmax(logits);
      return { token, logProb: logProbs[token], logProbs };
    }
    return { token, logProb: wantLogProb ? logits[token] - logSumExp(logits) : NaN };
  }
  const modelLogProbs = logSoftmax(logits);
  const x = Float64Array.from(logits);
  applyRepetitionPenalty(x, generated, params.repetitionPenalty);
  if (greedy) {
    const token = argmax(x);
    return { token, logProb: modelLogProbs[token], logProbs: modelLogProbs };
  }
  for (let i = 0; i < x.length; i++) x[i] /= params.temperature;
  const rnd = random as SeededRandom;
  applyTopK(x, params.topK);
  applyTopP(x, params.topP);
  const probs = logSoftmax(x);
  let u = rnd.next();
  let token = argmax(probs);
  for (let i = 0; i < probs.length; i++) {
    const p = Math.exp(probs[i]);
    if (u < p) {
      token = i;
      break;
    }
    u -= p;
  }
  return { token, logProb: modelLogProbs[token], logProbs: modelLogProbs };
}

/** The k most likely tokens of a log-probability row, best first. */
export function topTokens(logProbs: ArrayLike<number>, k: number): { token: number; logProb: number }[] {
  const idx = Array.from({ length: logProbs.length }, (_, i) => i);
  return idx
    .sort((a, b) => logProbs[b] - logProbs[a])
    .slice(0, k)
    .map((token) => ({ token, logProb: logProbs[token] }));
}
