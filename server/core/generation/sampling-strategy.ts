/**
 * Sampling: `n` independent choices, one row each. Per step and choice: the request's logits
 * processors, then its sampler (greedy at temperature 0, else multinomial from a seeded random
 * source: choice i uses seed + 7919·i), then the choice's output (text, stop strings, finish).
 */
import type { DecodingStrategy, StepRow, StrategyModel, StrategyStep } from './decoding-strategy.ts';
import type { GenerateRequest, GenerationEvent } from './generate-request.ts';
import { topTokens } from './log-probs.ts';
import { GREEDY, type LogitsProcessor, logitsProcessors } from './logits-processors.ts';
import { ChoiceOutput } from './output-processor.ts';
import { chooseToken, greedySampler, MultinomialSampler, type Sampler, SeededRandom } from './sampler.ts';

interface Choice {
  output: ChoiceOutput;
  sampler: Sampler;
  done: boolean;
}

export class SamplingStrategy implements DecodingStrategy {
  readonly rows: number;
  private readonly choices: Choice[];
  private readonly processors: LogitsProcessor[];
  private live: number;

  constructor(
    private readonly req: GenerateRequest,
    private readonly model: StrategyModel,
  ) {
    const params = req.sampling ?? GREEDY;
    this.processors = logitsProcessors(params);
    this.rows = this.live = req.n ?? 1;
    const seed = req.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.choices = [];
    for (let i = 0; i < this.rows; i++) {
      const sampler = params.temperature > 0 ? new MultinomialSampler(new SeededRandom(seed + i * 7919)) : greedySampler;
      this.choices.push({ output: new ChoiceOutput(model.tokenizer, i, req.stop ?? [], req.maxNewTokens), sampler, done: false });
    }
  }

  lastToken(index: number): number {
    return this.choices[index].output.lastToken ?? this.model.bos;
  }

  step(rows: readonly StepRow[]): StrategyStep {
    const { req } = this;
    const events: GenerationEvent[] = [];
    const leave: number[] = [];
    for (const row of rows) {
      const choice = this.choices[row.index];
      const { output } = choice;
      const picked = chooseToken(row.logits, this.processors, choice.sampler, output.tokens, Boolean(req.topLogprobs), req.logProbs ?? true);
      if (picked.token === this.model.eos) {
        events.push(this.finish(choice, 'stop'));
        leave.push(row.index);
        continue;
      }
      const top = req.topLogprobs && picked.logProbs ? topTokens(picked.logProbs, req.topLogprobs) : undefined;
      events.push(output.token(picked.token, picked.logProb, top, req.attention ? row.attention() : undefined));
      const reason = output.mustEnd;
      if (reason) {
        events.push(this.finish(choice, reason));
        leave.push(row.index);
      }
    }
    return { events, leave, done: this.live === 0 };
  }

  private finish(choice: Choice, reason: 'stop' | 'length'): GenerationEvent {
    choice.done = true;
    this.live--;
    return choice.output.finish(reason);
  }
}
