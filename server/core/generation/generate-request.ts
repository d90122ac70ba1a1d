/** What callers give the generation engine (a request) and what they get back (events). */
import type { SamplingParams } from './logits-processors.ts';

export type { SamplingParams } from './logits-processors.ts';

/** A preprocessed image for an image encoder: [channels, height, width] float pixels (a clip for a video encoder: [frames, channels, height, width]). */
export interface ImageSource {
  pixels: Float32Array;
  dims: readonly number[];
}

export interface GenerateRequest {
  /** Encoder input: token ids (not empty, at most the model's maxSourceTokens), or an image. */
  source: number[] | ImageSource;
  maxNewTokens: number;
  sampling?: SamplingParams;
  seed?: number;
  /** Independent choices (sampled, or the n best beams). */
  n?: number;
  /** > 1: beam search of this width (tokens are sent when it ends). */
  beamWidth?: number;
  /** GNMT length-penalty alpha for beam search. */
  lengthPenalty?: number;
  stop?: string[];
  /** Attention over the source per generated token. */
  attention?: boolean;
  /** Alternatives per token to report with their log-probabilities. */
  topLogprobs?: number;
  /** Each token's log-probability (default true); false leaves TokenEvent.logProb NaN and saves a pass over the vocabulary per token. */
  logProbs?: boolean;
  signal?: AbortSignal;
}

export interface TopLogProb {
  token: number;
  piece: string;
  logProb: number;
}

export interface TokenEvent {
  type: 'token';
  choice: number;
  token: number;
  /** The token's text as the tokenizer spells it. */
  piece: string;
  /** Text released by this token (stop strings may hold text back). */
  delta: string;
  logProb: number;
  top?: TopLogProb[];
  attention?: number[];
}

export type FinishReason = 'stop' | 'length';

export interface FinishEvent {
  type: 'finish';
  choice: number;
  reason: FinishReason;
  text: string;
  /** Tokens generated for this choice. */
  tokens: number;
  /** Text still held back for a stop string that did not complete. */
  delta: string;
}

export type GenerationEvent = TokenEvent | FinishEvent;
