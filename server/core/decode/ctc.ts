/**
 * CTC decoding over per-frame log-probabilities (row-major [T, V]): greedy (best path) and prefix
 * beam search, which sums over all alignments of each prefix.
 */
export interface CtcHypothesis {
  tokens: number[];
  /** log P(tokens | audio), summed over alignments the beam kept. */
  logProb: number;
}

export interface GreedyResult {
  tokens: number[];
  /** Frame at which each token was emitted (its first frame). */
  frames: number[];
}

export function ctcGreedy(logProbs: ArrayLike<number>, steps: number, vocab: number, blank: number): GreedyResult {
  const tokens: number[] = [];
  const frames: number[] = [];
  let prev = blank;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logProbs[t * vocab + v] > logProbs[t * vocab + best]) best = v;
    if (best !== blank && best !== prev) {
      tokens.push(best);
      frames.push(t);
    }
    prev = best;
  }
  return { tokens, frames };
}

export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

export interface BeamOptions {
  beamWidth: number;
  blank: number;
  /** Skip tokens whose frame log-probability is below this (pruning); default: keep all. */
  tokenLogProbFloor?: number;
}

interface Beam {
  tokens: number[];
  blankEnding: number; // log P(prefix, alignment ends in blank)
  tokenEnding: number; // log P(prefix, alignment ends in its last token)
}

const keyOf = (tokens: readonly number[]) => tokens.join(',');

/** Prefix beam search that takes frames as they arrive (streaming) and can be asked at any time. */
export class CtcPrefixBeam {
  private beams: Beam[] = [{ tokens: [], blankEnding: 0, tokenEnding: -Infinity }];

  constructor(
    private readonly vocab: number,
    private readonly options: BeamOptions,
  ) {}

  push(logProbs: ArrayLike<number>, steps: number): void {
    const { beamWidth, blank } = this.options;
    const floor = this.options.tokenLogProbFloor ?? -Infinity;
    const V = this.vocab;
    for (let t = 0; t < steps; t++) {
      const next = new Map<string, Beam>();
      const get = (tokens: number[]): Beam => {
        const k = keyOf(tokens);
        let b = next.get(k);
        if (!b) next.set(k, (b = { tokens, blankEnding: -Infinity, tokenEnding: -Infinity }));
        return b;
      };
      const row = t * V;
      for (const beam of this.beams) {
        const total = logAddExp(beam.blankEnding, beam.tokenEnding);
        // blank: prefix unchanged
        const same = get(beam.tokens);
        same.blankEnding = logAddExp(same.blankEnding, total + logProbs[row + blank]);
        const last = beam.tokens.length ? beam.tokens[beam.tokens.length - 1] : -1;
        for (let v = 0; v < V; v++) {
          if (v === blank) continue;
          const p = logProbs[row + v];
          if (p < floor) continue;
          if (v === last) {
            // repeat without a blank between collapses into the same prefix
            same.tokenEnding = logAddExp(same.tokenEnding, beam.tokenEnding + p);
            // after a blank, the repeat is a new token
            if (beam.blankEnding > -Infinity) {
              const ext = get([...beam.tokens, v]);
              ext.tokenEnding = logAddExp(ext.tokenEnding, beam.blankEnding + p);
            }
          } else {
            const ext = get([...beam.tokens, v]);
            ext.tokenEnding = logAddExp(ext.tokenEnding, total + p);
          }
        }
      }
      this.beams = [...next.values()]
        .sort((a, b) => logAddExp(b.blankEnding, b.tokenEnding) - logAddExp(a.blankEnding, a.tokenEnding))
        .slice(0, beamWidth);
    }
  }

  hypotheses(): CtcHypothesis[] {
    return this.beams.map((b) => ({ tokens: b.tokens, logProb: logAddExp(b.blankEnding, b.tokenEnding) }));
  }
}

export function ctcPrefixBeamSearch(logProbs: ArrayLike<number>, steps: number, vocab: number, options: BeamOptions): CtcHypothesis[] {
  const beam = new CtcPrefixBeam(vocab, options);
  beam.push(logProbs, steps);
  return beam.hypotheses();
}
