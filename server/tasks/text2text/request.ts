/**
 * OpenAI legacy completion requests (`POST /v1/completions`) for text2text models: the schema, with
 * seqserve's extensions, and its translation into the task's request. `best_of` (or the
 * `beam_width` extension) is beam search: the `n` best of `best_of` beams. The default temperature is
 * 0 (greedy: a pronunciation, not a sample); `temperature` > 0 samples.
 */
import { z } from 'zod';
import { invalidArgument } from '../../core/errors.ts';
import { DecodingParams, decodingRequest } from '../decoding-params.ts';
import { MAX_PROMPTS, type Text2TextRequest } from './index.ts';

/** GNMT length-penalty alpha of beam search when the request gives none (g2p's recipe chose 1.0 on its dev split). */
export const DEFAULT_LENGTH_PENALTY = 1.0;

/** The most beams (and so best_of) one prompt takes. */
export const MAX_BEAMS = 16;

export const CompletionRequest = DecodingParams.omit({ top_logprobs: true }).extend({
  model: z.string().min(1).optional(),
  // the count is checked outside the union, whose own error would hide it
  prompt: z
    .union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' })
    .refine((p) => typeof p === 'string' || p.length >= 1, 'must hold at least one prompt')
    .refine((p) => typeof p === 'string' || p.length <= MAX_PROMPTS, `must hold at most ${MAX_PROMPTS} prompts`),
  n: z.number().int().min(1).max(MAX_BEAMS, `must be at most ${MAX_BEAMS}`).nullish(),
  best_of: z.number().int().min(1).max(MAX_BEAMS, `must be at most ${MAX_BEAMS}`).nullish(),
  logprobs: z.number().int().min(0, 'must be between 0 and 5').max(5, 'must be between 0 and 5').nullish(),
  echo: z.boolean().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4, 'at most 4 stop sequences')]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  suffix: z.string().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  user: z.string().optional(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** The task request for a completion request (parameters checked here, with OpenAI's names). */
export function completionTaskRequest(body: CompletionRequest, maxNewTokens: number): Text2TextRequest {
  if (body.suffix) throw invalidArgument('suffix', 'is not supported by text2text models');
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw invalidArgument('logit_bias', 'is not supported by text2text models');
  if (body.echo && body.logprobs != null) throw invalidArgument('echo', 'cannot be combined with logprobs (the prompt has no log-probabilities here)');
  const n = body.n ?? 1;
  if (body.best_of != null && body.beam_width != null && body.best_of !== body.beam_width)
    throw invalidArgument('best_of', `must equal beam_width (${body.beam_width}) when both are given`);
  if (body.best_of != null && body.best_of < n) throw invalidArgument('best_of', `must be at least n (${n})`);
  const beamWidth = body.beam_width ?? (body.best_of != null && body.best_of > 1 ? body.best_of : 1);
  if (beamWidth > 1 && n > beamWidth) throw invalidArgument('n', `must not exceed best_of / beam_width (${beamWidth})`);
  const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    prompts,
    fields: typeof body.prompt === 'string' ? ['prompt'] : prompts.map((_, i) => `prompt[${i}]`),
    generate: {
      ...decodingRequest({ ...body, beam_width: beamWidth, length_penalty: body.length_penalty ?? DEFAULT_LENGTH_PENALTY }, maxNewTokens, { temperature: 0 }),
      n,
      stop: stop.filter(Boolean),
      topLogprobs: body.logprobs ?? 0,
      // log-probabilities only when asked: greedy decoding then skips a pass over the vocabulary
      logProbs: body.logprobs != null,
    },
  };
}
