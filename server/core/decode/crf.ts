/**
 * Linear-chain CRF decoding over emission scores: Viterbi for the best tag path and
 * forward-backward for per-token marginal probabilities. Emissions are row-major [T, L].
 */
export interface CrfParameters {
  labels: readonly string[];
  /** transitions[i][j]: score of moving from label i to label j. */
  transitions: readonly (readonly number[])[];
  start: readonly number[];
  end: readonly number[];
}

export function viterbi(emissions: ArrayLike<number>, steps: number, crf: CrfParameters): number[] {
  const L = crf.labels.length;
  if (steps === 0) return [];
  let score = new Float64Array(L);
  for (let j = 0; j < L; j++) score[j] = crf.start[j] + emissions[j];
  const back: Int32Array[] = [];
  for (let t = 1; t < steps; t++) {
    const next = new Float64Array(L);
    const idx = new Int32Array(L);
    for (let j = 0; j < L; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < L; i++) {
        const s = score[i] + crf.transitions[i][j];
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      next[j] = best + emissions[t * L + j];
      idx[j] = arg;
    }
    back.push(idx);
    score = next;
  }
  let last = 0;
  for (let j = 1; j < L; j++) if (score[j] + crf.end[j] > score[last] + crf.end[last]) last = j;
  const path = [last];
  for (let t = back.length - 1; t >= 0; t--) {
    last = back[t][last];
    path.push(last);
  }
  return path.reverse();
}

function logSumExp(values: Float64Array): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  if (max === -Infinity) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** marginals[t][j] = P(tag_t = j | sentence). */
export function marginals(emissions: ArrayLike<number>, steps: number, crf: CrfParameters): Float64Array[] {
  const L = crf.labels.length;
  const alpha: Float64Array[] = [];
  const beta: Float64Array[] = new Array(steps);
  const tmp = new Float64Array(L);
  for (let t = 0; t < steps; t++) {
    const a = new Float64Array(L);
    for (let j = 0; j < L; j++) {
      if (t === 0) a[j] = crf.start[j] + emissions[j];
      else {
        for (let i = 0; i < L; i++) tmp[i] = alpha[t - 1][i] + crf.transitions[i][j];
        a[j] = logSumExp(tmp) + emissions[t * L + j];
      }
    }
    alpha.push(a);
  }
  for (let t = steps - 1; t >= 0; t--) {
    const b = new Float64Array(L);
    for (let i = 0; i < L; i++) {
      if (t === steps - 1) b[i] = crf.end[i];
      else {
        for (let j = 0; j < L; j++) tmp[j] = crf.transitions[i][j] + emissions[(t + 1) * L + j] + beta[t + 1][j];
        b[i] = logSumExp(tmp);
      }
    }
    beta[t] = b;
  }
  if (steps === 0) return [];
  const fin = new Float64Array(L);
  for (let j = 0; j < L; j++) fin[j] = alpha[steps - 1][j] + crf.end[j];
  const logZ = logSumExp(fin);
  return alpha.map((a, t) => a.map((v, j) => Math.exp(v + beta[t][j] - logZ)));
}
