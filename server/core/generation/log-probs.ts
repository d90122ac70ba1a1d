/** Plain-array helpers over a row of logits or log-probabilities: log-softmax, its normaliser, argmax, the k best. */

export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  const lse = logSumExp(logits);
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

/**
 * Indices of the k largest values, largest first; equal values keep index order (as a stable sort
 * of the whole row would give), in O(n·k) without sorting the row.
 */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  k = Math.min(k, values.length);
  if (k <= 0) return top;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let j = top.length;
    if (j === k) {
      if (!(v > values[top[k - 1]])) continue;
      j = k - 1; // drops the smallest
    }
    for (; j > 0 && values[top[j - 1]] < v; j--) top[j] = top[j - 1];
    top[j] = i;
  }
  return top;
}

/** The k most likely tokens of a log-probability row, best first. */
export function topTokens(logProbs: ArrayLike<number>, k: number): { token: number; logProb: number }[] {
  return topIndices(logProbs, k).map((token) => ({ token, logProb: logProbs[token] }));
}
