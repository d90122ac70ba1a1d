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

/** A node of the prefix tree: one token after its parent prefix, with what the beam knows of it. */
interface Prefix {
  parent: Prefix | undefined;
  token: number;
  /** Frame at which the token was first emitted, and its frame probability. */
  frame: number;
  prob: number;
  children: Map<number, Prefix> | undefined;
  state: unknown; // scorer state after this prefix
  bonus: number; // scorer score of the whole prefix
}

interface Beam {
  prefix: Prefix;
  blankEnding: number; // log P(prefix, alignment ends in blank)
  tokenEnding: number; // log P(prefix, alignment ends in its last token)
}

const total = (b: Beam) => logAddExp(b.blankEnding, b.tokenEnding);

/**
 * Prefix beam search that takes frames as they arrive (streaming) and can be asked at any time.
 * Prefixes are nodes of a tree, so merging the paths that reach the same prefix is a map lookup on
 * the node, and no token arrays are copied while searching.
 */
export class CtcPrefixBeam {
  private beams: Beam[];
  private frame = 0;

  constructor(
    private readonly vocab: number,
    private readonly options: BeamOptions,
  ) {
    const root: Prefix = { parent: undefined, token: -1, frame: -1, prob: 1, children: undefined, state: options.scorer?.initial(), bonus: 0 };
    this.beams = [{ prefix: root, blankEnding: 0, tokenEnding: -Infinity }];
  }

  private child(prefix: Prefix, token: number, p: number, live: ReadonlySet<Prefix>, next: ReadonlyMap<Prefix, Beam>): Prefix {
    let c = prefix.children?.get(token);
    if (c && !live.has(c) && !next.has(c)) {
      // a prefix that left the beam and comes back: its token is emitted now
      c.frame = this.frame;
      c.prob = Math.exp(p);
    }
    if (!c) {
      const scored = this.options.scorer ? this.options.scorer.extend(prefix.state, token) : { state: undefined, score: 0 };
      c = { parent: prefix, token, frame: this.frame, prob: Math.exp(p), children: undefined, state: scored.state, bonus: prefix.bonus + scored.score };
      (prefix.children ??= new Map()).set(token, c);
    }
    return c;
  }

  push(logProbs: ArrayLike<number>, steps: number): void {
    const { beamWidth, blank } = this.options;
    const floor = this.options.tokenLogProbFloor ?? -Infinity;
    const V = this.vocab;
    for (let t = 0; t < steps; t++, this.frame++) {
      const next = new Map<Prefix, Beam>();
      const live = new Set(this.beams.map((b) => b.prefix));
      const at = (prefix: Prefix): Beam => {
        let b = next.get(prefix);
        if (!b) next.set(prefix, (b = { prefix, blankEnding: -Infinity, tokenEnding: -Infinity }));
        return b;
      };
      const row = t * V;
      for (const beam of this.beams) {
        const all = total(beam);
        // blank: prefix unchanged
        const unchanged = at(beam.prefix);
        unchanged.blankEnding = logAddExp(unchanged.blankEnding, all + logProbs[row + blank]);
        const last = beam.prefix.token;
        for (let v = 0; v < V; v++) {
          if (v === blank) continue;
          const p = logProbs[row + v];
          if (p < floor) continue;
          if (v === last) {
            // repeat without a blank between collapses into the same prefix
            unchanged.tokenEnding = logAddExp(unchanged.tokenEnding, beam.tokenEnding + p);
            // after a blank, the repeat is a new token
            if (beam.blankEnding > -Infinity) {
              const ext = at(this.child(beam.prefix, v, p, live, next));
              ext.tokenEnding = logAddExp(ext.tokenEnding, beam.blankEnding + p);
            }
          } else {
            const ext = at(this.child(beam.prefix, v, p, live, next));
            ext.tokenEnding = logAddExp(ext.tokenEnding, all + p);
          }
        }
      }
      this.beams = [...next.values()].sort((a, b) => total(b) + b.prefix.bonus - (total(a) + a.prefix.bonus)).slice(0, beamWidth);
    }
  }

  /** The beam, best first; `final` adds the scorer's end-of-hypothesis score and re-ranks. */
  hypotheses(final = false): BeamHypothesis[] {
    const scorer = this.options.scorer;
    const out = this.beams.map((b) => {
      const tokens: number[] = [];
      const frames: number[] = [];
      const probs: number[] = [];
      for (let n: Prefix | undefined = b.prefix; n?.parent; n = n.parent) {
        tokens.push(n.token);
        frames.push(n.frame);
        probs.push(n.prob);
      }
      tokens.reverse();
      frames.reverse();
      probs.reverse();
      // a prefix that left the beam and came back is re-timed to its return, possibly after the
      // token that follows it was first emitted: a token is emitted no later than its successor
      for (let i = frames.length - 2; i >= 0; i--) if (frames[i] > frames[i + 1]) frames[i] = frames[i + 1];
      const logProb = total(b);
      const end = final && scorer ? scorer.finish(b.prefix.state) : 0;
      return { tokens, frames, probs, logProb, score: logProb + b.prefix.bonus + end };
    });
    return out.sort((a, b) => b.score - a.score);
  }
}

export function ctcPrefixBeamSearch(logProbs: ArrayLike<number>, steps: number, vocab: number, options: BeamOptions, final = true): BeamHypothesis[] {
  const beam = new CtcPrefixBeam(vocab, options);
  beam.push(logProbs, steps);
  return beam.hypotheses(final);
}
