/**
 * A decoding strategy turns each decoder step's logits for a request's rows into tokens and events:
 * sampling (greedy or seeded, n independent choices) or beam search. The engine picks one per
 * request when it arrives (`decodingStrategy`) and from then on only calls this interface.
 */
import { BeamSearchStrategy } from './beam-search-strategy.ts';
import type { GenerateRequest, GenerationEvent } from './generate-request.ts';
import type { OutputTokenizer } from './output-processor.ts';
import { SamplingStrategy } from './sampling-strategy.ts';

/** One of a request's rows in a decoder step. */
export interface StepRow {
  /** The row's place in its request: the choice, or the beam slot. */
  index: number;
  /** The row's logits for its next token. */
  logits: Float32Array;
  /** The row's attention over its source in this step (a copy; undefined when the model has none). */
  attention(): number[] | undefined;
}

/** What a step did to a request. */
export interface StrategyStep {
  events: GenerationEvent[];
  /** Rows (by index) that leave the batch. */
  leave: number[];
  /** Beam reordering: row `targets[i]` continues from the decoder state of row `sources[i]` (by index). */
  reorder?: { targets: number[]; sources: number[] };
  /** Every choice has finished: all the request's rows leave. */
  done: boolean;
}

export interface DecodingStrategy {
  /** Batch rows the request takes. */
  readonly rows: number;
  /** The token to feed row `index` at the next step. */
  lastToken(index: number): number;
  /** Takes one step's rows (all the request's rows, in any order). */
  step(rows: readonly StepRow[]): StrategyStep;
}

/** What strategies need of the model. */
export interface StrategyModel {
  bos: number;
  eos: number;
  tokenizer: OutputTokenizer;
}

export type StrategyKind = 'sampling' | 'beam-search';

/** Beam search for `beamWidth` > 1, otherwise sampling (greedy at temperature 0). */
export function strategyKind(req: GenerateRequest): StrategyKind {
  return (req.beamWidth ?? 1) > 1 ? 'beam-search' : 'sampling';
}

export function decodingStrategy(req: GenerateRequest, model: StrategyModel): DecodingStrategy {
  switch (strategyKind(req)) {
    case 'beam-search':
      return new BeamSearchStrategy(req, model);
    case 'sampling':
      return new SamplingStrategy(req, model);
  }
}
