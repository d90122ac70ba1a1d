/**
 * Logits processors: each adjusts one row of logits in place, given the tokens the sequence has
 * generated so far; a request's list is applied in order before a sampler picks the token (as
 * transformers.js's LogitsProcessorList). Plain arrays in, plain arrays out.
 */
import { logSoftmax } from './log-probs.ts';

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

export interface LogitsProcessor {
  apply(logits: Float64Array, generated: readonly number[]): void;
}

/** Divides positive logits by the penalty and multiplies negative ones, for every token already generated. */
export class RepetitionPenalty implements LogitsProcessor {
  constructor(readonly penalty: number) {}

  apply(logits: Float64Array, generated: readonly number[]): void {
    for (const t of new Set(generated)) logits[t] = logits[t] > 0 ? logits[t] / this.penalty : logits[t] * this.penalty;
  }
}

/** Divides every logit by the temperature (> 1 flattens the distribution, < 1 sharpens it). */
export class Temperature implements LogitsProcessor {
  constructor(readonly temperature: number) {}

  apply(logits: Float64Array): void {
    for (let i = 0; i < logits.length; i++) logits[i] /= this.temperature;
  }
}

/** Sets every logit outside the k largest to -Infinity. */
export class TopK implements LogitsProcessor {
  constructor(readonly k: number) {}

  apply(logits: Float64Array): void {
    const k = this.k;
    if (k <= 0 || k >= logits.length) return;
    const kth = [...logits].sort((a, b) => b - a)[k - 1];
    let kept = 0;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > kth || (logits[i] === kth && kept < k)) kept++;
      else logits[i] = -Infinity;
    }
  }
}

/** Keeps the most likely tokens whose probabilities sum to at least p (always at least one). */
export class TopP implements LogitsProcessor {
  constructor(readonly p: number) {}

  apply(logits: Float64Array): void {
    if (this.p >= 1) return;
    const lp = logSoftmax(logits);
    const order = [...lp.keys()].sort((a, b) => lp[b] - lp[a]);
    let mass = 0;
    let i = 0;
    for (; i < order.length && mass < this.p - 1e-9; i++) mass += Math.exp(lp[order[i]]);
    for (; i < order.length; i++) logits[order[i]] = -Infinity;
  }
}

/**
 * The processors a request's parameters call for, in the order they apply; only those that change
 * something (greedy decoding needs none of temperature, top-k and top-p: they keep the best token).
 */
export function logitsProcessors(params: SamplingParams): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (params.repetitionPenalty !== 1) list.push(new RepetitionPenalty(params.repetitionPenalty));
  if (params.temperature <= 0) return list;
  if (params.temperature !== 1) list.push(new Temperature(params.temperature));
  if (params.topK > 0) list.push(new TopK(params.topK));
  if (params.topP < 1) list.push(new TopP(params.topP));
  return list;
}
