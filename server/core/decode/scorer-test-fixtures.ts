/** Fixtures shared by the decoder tests: a tiny ARPA model and a whole-sequence scorer total. */
import type { PrefixScorer } from './prefix-scorers.ts';

export const TINY_ARPA = `
\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0 <unk> 0
-99 <s> -0.30103
-0.5 </s> 0
-0.30103 a -0.2
-0.60206 b -0.1

\\2-grams:
-0.1 <s> a
-0.2 a b
-0.4 b </s>

\\end\\
`;

/** Total score a scorer gives a whole token sequence. */
export function scoreAll(scorer: PrefixScorer, tokens: number[]): number {
  let state = scorer.initial();
  let score = 0;
  for (const t of tokens) {
    const r = scorer.extend(state, t);
    state = r.state;
    score += r.score;
  }
  return score + scorer.finish(state);
}
