import type { PrefixScorer } from './prefix-scorers.ts';

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
  /** Language model, hotwords: scores added to the acoustic log-probability of each prefix. */
  scorer?: PrefixScorer;
}

export interface BeamHypothesis extends CtcHypothesis {
  /** logProb plus the scorer's score (what the beam ranks by; with `final`, including the end-of-hypothesis score). */
  score: number;
  /** Frame at which each token was first emitted, and its frame probability. */
  frames: number[];
  probs: number[];
}

interface Beam {
  tokens: number[];
  frames: number[];
  probs: number[];
  blankEnding: number; // log P(prefix, alignment ends in blank)
  tokenEnding: number; // log P(prefix, alignment ends in its last token)
  state: unknown; // scorer state
  bonus: number; // scorer score so far
}

const keyOf = (tokens: readonly number[]) => tokens.join(',');
const total = (b: Beam) => logAddExp(b.blankEnding, b.tokenEnding);

/** Prefix beam search that takes frames as they arrive (streaming) and can be asked at any time. */
export class CtcPrefixBeam {
  private beams: Beam[];
  private frame = 0;

  constructor(
    private readonly vocab: number,
    private readonly options: BeamOptions,
  ) {
    this.beams = [{ tokens: [], frames: [], probs: [], blankEnding: 0, tokenEnding: -Infinity, state: options.scorer?.initial(), bonus: 0 }];
  }

  push(logProbs: ArrayLike<number>, steps: number): void {
    const { beamWidth, blank, scorer } = this.options;
    const floor = this.options.tokenLogProbFloor ?? -Infinity;
    const V = this.vocab;
    for (let t = 0; t < steps; t++, this.frame++) {
      const next = new Map<string, Beam>();
      const row = t * V;
      const same = (beam: Beam): Beam => {
        const k = keyOf(beam.tokens);
        let b = next.get(k);
        if (!b) next.set(k, (b = { ...beam, blankEnding: -Infinity, tokenEnding: -Infinity }));
        return b;
      };
      const extend = (beam: Beam, v: number, p: number): Beam => {
        const tokens = [...beam.tokens, v];
        const k = keyOf(tokens);
        let b = next.get(k);
        if (!b) {
          const scored = scorer ? scorer.extend(beam.state, v) : { state: undefined, score: 0 };
          b = { tokens, frames: [...beam.frames, this.frame], probs: [...beam.probs, Math.exp(p)], blankEnding: -Infinity, tokenEnding: -Infinity, state: scored.state, bonus: beam.bonus + scored.score };
          next.set(k, b);
        }
        return b;
      };
      for (const beam of this.beams) {
        const all = total(beam);
        // blank: prefix unchanged
        const unchanged = same(beam);
        unchanged.blankEnding = logAddExp(unchanged.blankEnding, all + logProbs[row + blank]);
        const last = beam.tokens.length ? beam.tokens[beam.tokens.length - 1] : -1;
        for (let v = 0; v < V; v++) {
          if (v === blank) continue;
          const p = logProbs[row + v];
          if (p < floor) continue;
          if (v === last) {
            // repeat without a blank between collapses into the same prefix
            unchanged.tokenEnding = logAddExp(unchanged.tokenEnding, beam.tokenEnding + p);
            // after a blank, the repeat is a new token
            if (beam.blankEnding > -Infinity) {
              const ext = extend(beam, v, p);
              ext.tokenEnding = logAddExp(ext.tokenEnding, beam.blankEnding + p);
            }
          } else {
            const ext = extend(beam, v, p);
            ext.tokenEnding = logAddExp(ext.tokenEnding, all + p);
          }
        }
      }
      this.beams = [...next.values()].sort((a, b) => total(b) + b.bonus - (total(a) + a.bonus)).slice(0, beamWidth);
    }
  }

  /** The beam, best first; `final` adds the scorer's end-of-hypothesis score and re-ranks. */
  hypotheses(final = false): BeamHypothesis[] {
    const scorer = this.options.scorer;
    const out = this.beams.map((b) => {
      const logProb = total(b);
      const end = final && scorer ? scorer.finish(b.state) : 0;
      return { tokens: b.tokens, frames: b.frames, probs: b.probs, logProb, score: logProb + b.bonus + end };
    });
    return out.sort((a, b) => b.score - a.score);
  }
}

export function ctcPrefixBeamSearch(logProbs: ArrayLike<number>, steps: number, vocab: number, options: BeamOptions, final = true): BeamHypothesis[] {
  const beam = new CtcPrefixBeam(vocab, options);
  beam.push(logProbs, steps);
  return beam.hypotheses(final);
}
