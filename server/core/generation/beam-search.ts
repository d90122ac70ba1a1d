/**
 * Beam search bookkeeping on plain arrays: extend each live beam by its best next tokens, keep the
 * `width` best candidates, move beams that end (EOS or length) to the finished list, and rank with
 * the GNMT length penalty lp(Y) = ((5 + |Y|) / 6)^alpha. Each token of a hypothesis can carry a
 * detail the caller attaches when the token is chosen (attention row, top log-probabilities).
 */
import { topIndices } from './log-probs.ts';

export interface BeamHypothesis<D = unknown> {
  tokens: number[];
  /** Sum of ln P of the tokens (and of EOS if it ended there). */
  logProb: number;
  tokenLogProbs: number[];
  /** Per token, what `detail` returned when it was chosen (only when a `detail` function is given). */
  details?: D[];
  finished: boolean;
}

export function lengthPenalty(length: number, alpha: number): number {
  return ((5 + length) / 6) ** alpha;
}

export function beamScore(h: BeamHypothesis, alpha: number): number {
  return h.logProb / lengthPenalty(Math.max(1, h.tokens.length), alpha);
}

export interface BeamStepResult<D = unknown> {
  /** Live beams for the next step, each with the index of the parent beam whose state it continues. */
  live: { hypothesis: BeamHypothesis<D>; parent: number }[];
  finished: BeamHypothesis<D>[];
}

/**
 * One step: `rows[i]` are the log-probabilities of live beam `beams[i]`'s next token. `maxLength`
 * finishes beams that reach it. `detail(parent, token)` is called for each token a kept hypothesis
 * adds (not for EOS), and its result kept beside the token.
 */
export function beamStep<D = unknown>(
  beams: readonly BeamHypothesis<D>[],
  rows: readonly ArrayLike<number>[],
  width: number,
  eos: number,
  maxLength: number,
  detail?: (parent: number, token: number) => D,
): BeamStepResult<D> {
  const candidates: { parent: number; token: number; logProb: number }[] = [];
  beams.forEach((beam, parent) => {
    const row = rows[parent];
    for (const token of topIndices(row, width + 1)) candidates.push({ parent, token, logProb: beam.logProb + row[token] });
  });
  candidates.sort((a, b) => b.logProb - a.logProb); // stable: ties keep parent, then token order
  const live: BeamStepResult<D>['live'] = [];
  const finished: BeamHypothesis<D>[] = [];
  for (const { parent, token, logProb } of candidates) {
    if (live.length + finished.length >= width) break;
    const beam = beams[parent];
    const ended = token === eos;
    const hypothesis: BeamHypothesis<D> = {
      tokens: ended ? beam.tokens : [...beam.tokens, token],
      logProb,
      tokenLogProbs: ended ? beam.tokenLogProbs : [...beam.tokenLogProbs, rows[parent][token]],
      finished: ended || beam.tokens.length + 1 >= maxLength,
    };
    if (detail) hypothesis.details = ended ? (beam.details ?? []) : [...(beam.details ?? []), detail(parent, token)];
    if (hypothesis.finished) finished.push(hypothesis);
    else live.push({ hypothesis, parent });
  }
  return { live, finished };
}

/** Whether search can stop: `width` beams finished and no live beam could still beat the best of them. */
export function beamSearchDone(finished: readonly BeamHypothesis[], live: readonly BeamHypothesis[], width: number, alpha: number, maxLength: number): boolean {
  if (live.length === 0) return true;
  if (finished.length < width) return false;
  const worstKept = Math.min(
    ...[...finished]
      .sort((a, b) => beamScore(b, alpha) - beamScore(a, alpha))
      .slice(0, width)
      .map((h) => beamScore(h, alpha)),
  );
  // log-probabilities only fall as beams grow; the best a live beam can reach is its score at the longest length
  const bestLive = Math.max(...live.map((h) => h.logProb / lengthPenalty(alpha >= 0 ? maxLength : Math.max(1, h.tokens.length), alpha)));
  return bestLive <= worstKept;
}
