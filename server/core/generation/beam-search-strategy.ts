/**
 * Beam search over `beamWidth` rows: each step extends the live beams (beam-search.ts), moves each
 * row's decoder state to the beam that continues it, and keeps, per token of every hypothesis, its
 * attention row and top log-probabilities when the request asks for them. When the search ends,
 * the `n` best hypotheses are sent as choices, token by token, through the same output processor
 * as sampled text (stop strings, finish reasons).
 */
import { beamScore, beamSearchDone, beamStep, type BeamHypothesis } from './beam-search.ts';
import type { DecodingStrategy, StepRow, StrategyModel, StrategyStep } from './decoding-strategy.ts';
import type { GenerateRequest, GenerationEvent } from './generate-request.ts';
import { logSoftmax, topTokens } from './log-probs.ts';
import { ChoiceOutput } from './output-processor.ts';

/** What a hypothesis keeps beside each token, from the step that chose it. */
interface TokenDetail {
  attention?: number[];
  top?: { token: number; logProb: number }[];
}

export class BeamSearchStrategy implements DecodingStrategy {
  readonly rows: number;
  private readonly alpha: number;
  private beams: BeamHypothesis<TokenDetail>[] = [{ tokens: [], logProb: 0, tokenLogProbs: [], finished: false }];
  private finished: BeamHypothesis<TokenDetail>[] = [];

  constructor(
    private readonly req: GenerateRequest,
    private readonly model: StrategyModel,
  ) {
    this.rows = req.beamWidth ?? 1;
    this.alpha = req.lengthPenalty ?? 0.6;
  }

  /** Rows beyond the live beams are carried along and ignored. */
  lastToken(index: number): number {
    const tokens = this.beams[index]?.tokens;
    return tokens && tokens.length > 0 ? tokens[tokens.length - 1] : this.model.bos;
  }

  step(rows: readonly StepRow[]): StrategyStep {
    const { req } = this;
    const slots: StepRow[] = [];
    for (const row of rows) slots[row.index] = row;
    const logProbs = this.beams.map((_, i) => logSoftmax(slots[i].logits));
    const result = beamStep(this.beams, logProbs, this.rows, this.model.eos, req.maxNewTokens, req.attention || req.topLogprobs ? this.details(slots, logProbs) : undefined);
    this.finished.push(...result.finished);
    this.beams = result.live.map((l) => l.hypothesis);
    if (beamSearchDone(this.finished, this.beams, this.rows, this.alpha, req.maxNewTokens)) return { events: this.results(), leave: [], done: true };
    // beam i continues the state of its parent's row
    return { events: [], leave: [], reorder: { targets: result.live.map((_, i) => i), sources: result.live.map((l) => l.parent) }, done: false };
  }

  /** The detail of a token chosen from a parent row: that row's attention and top tokens (each computed once per row). */
  private details(slots: readonly StepRow[], logProbs: readonly Float64Array[]): (parent: number) => TokenDetail {
    const { attention, topLogprobs } = this.req;
    const memo: TokenDetail[] = [];
    return (parent) => {
      memo[parent] ??= {
        ...(attention ? { attention: slots[parent].attention() } : {}),
        ...(topLogprobs ? { top: topTokens(logProbs[parent], topLogprobs) } : {}),
      };
      return memo[parent];
    };
  }

  /** The n best hypotheses as choices: their tokens' events, then each one's finish. */
  private results(): GenerationEvent[] {
    const { req, model, alpha } = this;
    const ranked = [...this.finished, ...this.beams].sort((a, b) => beamScore(b, alpha) - beamScore(a, alpha)).slice(0, req.n ?? 1);
    const events: GenerationEvent[] = [];
    ranked.forEach((h, choice) => {
      const output = new ChoiceOutput(model.tokenizer, choice, req.stop ?? [], req.maxNewTokens);
      for (let i = 0; i < h.tokens.length && !output.mustEnd; i++) {
        const detail = h.details?.[i];
        events.push(output.token(h.tokens[i], h.tokenLogProbs[i], detail?.top, detail?.attention));
      }
      // a hypothesis that did not reach a stop string or the limit ended with EOS
      events.push(output.finish(output.mustEnd ?? 'stop'));
    });
    this.beams = [];
    this.finished = [];
    return events;
  }
}
