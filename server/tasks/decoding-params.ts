/**
 * The decoding parameters every generation request shares (chat completions, captions, their gRPC
 * calls): one zod schema with OpenAI's names and seqserve's extensions, and one translation into the
 * generation engine's request. Tasks differ only in their stated default temperature (chat 1, as
 * OpenAI; captions 0, greedy) and in the parameters they add (chat: n, stop, logprobs).
 */
import { z } from 'zod';
import { invalidArgument } from '../core/errors.ts';
import type { GenerateRequest } from '../core/generation/generation-engine.ts';

export const DecodingParams = z.object({
  max_tokens: z.number().int().positive('must be at least 1').nullish(),
  temperature: z.number().min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2').nullish(),
  top_p: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').nullish(),
  top_k: z.number().int().nonnegative().nullish(),
  seed: z.number().int().nullish(),
  top_logprobs: z.number().int().min(0).max(20, 'must be at most 20').nullish(),
  // seqserve extensions
  repetition_penalty: z.number().positive().nullish(),
  beam_width: z.number().int().min(1).max(16, 'must be at most 16').nullish(),
  length_penalty: z.number().min(0).max(2).nullish(),
  include_attention: z.boolean().nullish(),
});
export type DecodingParams = z.infer<typeof DecodingParams>;

export interface DecodingDefaults {
  /** The task's temperature when the request gives none. */
  temperature: number;
  /** The request field that set the token limit, for its error (`max_completion_tokens` or `max_tokens`). */
  maxTokensField?: string;
}

/** The engine-request fields for `params` (checked against the model's token limit). */
export function decodingRequest(params: DecodingParams, maxNewTokens: number, defaults: DecodingDefaults): Omit<GenerateRequest, 'source' | 'n' | 'stop' | 'signal'> {
  const maxTokens = params.max_tokens ?? maxNewTokens;
  if (maxTokens > maxNewTokens) throw invalidArgument(defaults.maxTokensField ?? 'max_tokens', `must be at most ${maxNewTokens} for this model`);
  const beamWidth = params.beam_width ?? 1;
  return {
    maxNewTokens: maxTokens,
    sampling: { temperature: params.temperature ?? defaults.temperature, topK: params.top_k ?? 0, topP: params.top_p ?? 1, repetitionPenalty: params.repetition_penalty ?? 1 },
    ...(params.seed != null ? { seed: params.seed } : {}),
    ...(beamWidth > 1 ? { beamWidth, lengthPenalty: params.length_penalty ?? 0.6 } : {}),
    attention: params.include_attention ?? false,
    topLogprobs: params.top_logprobs ?? 0,
  };
}

/** A proto message with proto3 `optional` fields, which arrive with a `_name` oneof telling whether they were set. */
export type ProtoDecodingMessage = {
  max_tokens: number;
  top_k: number;
  beam_width: number;
  top_logprobs: number;
  include_attention: boolean;
  temperature?: number;
  top_p?: number;
  seed?: string;
  repetition_penalty?: number;
  length_penalty?: number;
  [oneof: `_${string}`]: string | undefined;
};

/** The decoding parameters of a gRPC Generate or Caption message, as the JSON APIs name them (zero = unset). */
export function decodingParamsFromProto(req: ProtoDecodingMessage): DecodingParams {
  const optional = <T>(name: string): T | undefined => (req[`_${name}`] === name ? ((req as unknown as Record<string, unknown>)[name] as T) : undefined);
  const seed = optional<string>('seed');
  return {
    ...(req.max_tokens ? { max_tokens: req.max_tokens } : {}),
    temperature: optional<number>('temperature'),
    top_p: optional<number>('top_p'),
    top_k: req.top_k || undefined,
    seed: seed === undefined ? undefined : Number(seed),
    top_logprobs: req.top_logprobs || undefined,
    repetition_penalty: optional<number>('repetition_penalty'),
    beam_width: req.beam_width || undefined,
    length_penalty: optional<number>('length_penalty'),
    include_attention: req.include_attention,
  };
}
