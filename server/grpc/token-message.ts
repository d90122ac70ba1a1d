/** The fields of a generated token in every `seqserve.v1.Generation` stream (Generate, Caption, Complete). */
import type { TokenEvent } from '../core/generation/generation-engine.ts';

export function tokenMessage(e: Pick<TokenEvent, 'delta' | 'piece' | 'logProb' | 'top' | 'attention'>) {
  return {
    delta: e.delta,
    token: e.piece,
    logprob: e.logProb,
    top_logprobs: (e.top ?? []).map((t) => ({ token: t.piece, logprob: t.logProb })),
    attention: e.attention ?? [],
  };
}
