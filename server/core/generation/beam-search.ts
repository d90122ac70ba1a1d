/**
 * Beam search bookkeeping on plain arrays: extend each live beam by its best next tokens, keep the
 * `width` best candidates, move beams that end (EOS or length) to the finished list, and rank with
 * the GNMT length penalty lp(Y) = ((5 + |Y|) / 6)^alpha.
 */
export interface BeamHypothesis {
  tokens: number[];
  /** Sum of ln P of the tokens (and of EOS if it ended there). */
  logProb: number;
  tokenLogProbs: number[];
  finished: boolean;
}

export function lengthPenalty(length: number, alpha: number): number {
  return ((5 + length) / 6) ** alpha;
}

export function beamScore(h: BeamHypothesis, alpha: number): number {
  return h.logProb / lengthPenalty(Math.max(1, h.tokens.length), alpha);
}

export interface BeamStepResult {
  /** Live beams for the next step, each with the index of the parent beam whose state it continues. */
  live: { hypothesis: BeamHypothesis; parent: number }[];
  finished: BeamHypothesis[];
}

/**
 * One step: `rows[i]` are the log-probabilities of live beam `beams[i]`'s next token. `maxLength`
 * finishes beams that reach it.
 */
export function beamStep(beams: readonly BeamHypothesis[], rows: readonly ArrayLike<number>[], width: number, eos: number, maxLength: number): BeamStepResult {
  const candidates: { hypothesis: BeamHypothesis; parent: number }[] = [];
  beams.forEach((beam, parent) => {
    const row = rows[parent];
    const idx = Array.from({ length: row.length }, (_, i) => i)
      .sort((a, b) => row[b] - row[a])
      .slice(0, width + 1);
    for (const token of idx) {
      const ended = token === eos;
      candidates.push({
        parent,
        hypothesis: {
          tokens: ended ? beam.tokens : [...beam.tokens, token],
          logProb: beam.logProb + row[token],
          tokenLogProbs: ended ? beam.tokenLogProbs : [...beam.tokenLogProbs, row[token]],
          finished: ended || beam.tokens.length + 1 >= maxLength,
        },
      });
    }
  });
  candidates.sort((a, b) => b.hypothesis.logProb - a.hypothesis.logProb);
  const live: BeamStepResult['live'] = [];
  const finished: BeamHypothesis[] = [];
  for (const c of candidates) {
    if (live.length + finished.length >= width) break;
    if (c.hypothesis.finished) finished.push(c.hypothesis);
    else live.push(c);
  }
  return { live, finished };
}

/** Whether search can stop: `width` beams finished and no live beam could still beat the best of them. */
export function beamSearchDone(finished: readonly BeamHypothesis[], live: readonly BeamHypothesis[], width: number, alpha: number, maxLength: number): boolean {
  if (live.length === 0) return true;
  if (finished.length < width) return false;
  const worstKept = Math.min(...[...finished].sort((a, b) => beamScore(b, alpha) - beamScore(a, alpha)).slice(0, width).map((h) => beamScore(h, alpha)));
  // log-probabilities only fall as beams grow; the best a live beam can reach is its score at the longest length
  const bestLive = Math.max(...live.map((h) => h.logProb / lengthPenalty(alpha >= 0 ? maxLength : Math.max(1, h.tokens.length), alpha)));
  return bestLive <= worstKept;
}
