/** The text2text task's endpoints: OpenAI-compatible legacy completions, `POST /v1/completions` (with its OpenAPI description), `seqserve.v1.Generation/Complete` over gRPC, and Triton's generate extension (so the model is one KServe model too). */
import { arrayOf, int, json, nullable, num, obj, ok, ref, sse, SSE_NOTE, str, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { MAX_PROMPTS } from '../index.ts';
import { CompletionRequest, DEFAULT_LENGTH_PENALTY } from '../request.ts';
import { text2textGenerate } from './generate.ts';
import { completeMethod } from './grpc.ts';
import { completionRoutes } from './http.ts';

const NOTES = {
  model: 'a text2text model (default: the first ready one)',
  prompt: `one prompt, or an array of at most ${MAX_PROMPTS} decoded together (choice index = prompt × n + choice); for g2p one word of letters a-z and apostrophes`,
  max_tokens: "at most the model's generation.maxNewTokens (its default)",
  temperature: '0 = greedy (the default here: text2text output is a transcription, not a sample); > 0 samples',
  n: 'choices per prompt; with best_of / beam_width, the n best beams',
  best_of: 'beam search of this width, returning the n best beams (the same as the beam_width extension)',
  logprobs: 'per token, this many most likely alternatives (0-5) with their log-probabilities',
  echo: 'prepend the prompt to each choice (not with logprobs)',
  stop: 'up to 4 strings; never emitted',
  seed: 'same seed, same sampled output',
  stream: 'server-sent `text_completion` chunks, then `data: [DONE]`',
  suffix: 'refused unless empty',
  logit_bias: 'refused unless empty',
  presence_penalty: 'accepted and ignored (use repetition_penalty)',
  frequency_penalty: 'accepted and ignored (use repetition_penalty)',
  top_k: 'seqserve extension; 0 = off',
  repetition_penalty: 'seqserve extension',
  beam_width: 'seqserve extension: beam search (as best_of)',
  length_penalty: `seqserve extension: GNMT length penalty alpha of beam search (default ${DEFAULT_LENGTH_PENALTY})`,
  include_attention: "seqserve extension: each choice carries the attention alignment, a row per output token over the prompt's source tokens",
};

const logprobs = obj({
  tokens: arrayOf(str),
  token_logprobs: arrayOf(num),
  top_logprobs: arrayOf({ type: 'object', additionalProperties: num }),
  text_offset: arrayOf(int),
});
const usage = obj({ prompt_tokens: int, completion_tokens: int, total_tokens: int });
const alignment = obj({
  source_tokens: arrayOf(str),
  output_tokens: arrayOf(str),
  weights: { ...arrayOf(arrayOf(num)), description: 'a row per output token over source_tokens' },
});

export const endpoints: TaskEndpoints = {
  openAiErrorPaths: ['/v1/completions'],
  http: completionRoutes,
  generate: text2textGenerate,
  grpc: { protos: ['seqserve/v1/generation.proto'], services: (ctx) => ({ 'seqserve.v1.Generation': completeMethod(ctx) }) },
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/completions',
        operationId: 'createCompletion',
        tag: 'OpenAI-compatible',
        summary: 'Text completion with a text2text model (grapheme-to-phoneme: a word in, its ARPAbet pronunciation out)',
        body: { required: true, content: json(ref('CompletionRequest')) },
        responses: {
          200: ok('The completion; with `stream: true` a chunk per token', {
            ...json(ref('Completion')),
            ...sse(
              { oneOf: [ref('CompletionChunk'), ref('StreamErrorEvent')] },
              `${SSE_NOTE} A last chunk of each choice has finish_reason; a usage chunk follows when asked; then \`data: [DONE]\`.`,
            ),
          }),
        },
        errors: WORK_ERRORS,
        badInput: ['prompt', 'must be a string or an array of strings'],
      },
    ],
    jsonBodies: [{ id: 'CompletionRequest', schema: CompletionRequest, notes: NOTES }],
    schemas: {
      Completion: obj({
        id: str,
        object: { const: 'text_completion' },
        created: int,
        model: str,
        system_fingerprint: str,
        choices: arrayOf(
          obj(
            {
              text: str,
              index: int,
              logprobs: { ...nullable(logprobs), description: 'with logprobs' },
              finish_reason: { enum: ['stop', 'length'] },
              attention: { ...alignment, description: 'seqserve extension, with include_attention' },
            },
            ['text', 'index', 'logprobs', 'finish_reason'],
          ),
        ),
        usage,
      }),
      CompletionChunk: obj(
        {
          id: str,
          object: { const: 'text_completion' },
          created: int,
          model: str,
          system_fingerprint: str,
          choices: {
            ...arrayOf(
              obj(
                {
                  text: str,
                  index: int,
                  logprobs: nullable(logprobs),
                  finish_reason: { enum: ['stop', 'length', null] },
                  source_tokens: { ...arrayOf(str), description: 'with include_attention, on the first chunk of each choice' },
                  attention: { ...nullable(arrayOf(num)), description: "with include_attention: the token's row over source_tokens" },
                },
                ['text', 'index', 'logprobs', 'finish_reason'],
              ),
            ),
            description: 'empty on the usage chunk',
          },
          usage: { ...usage, description: 'on the last chunk, with stream_options.include_usage' },
        },
        ['id', 'object', 'created', 'model', 'choices'],
      ),
    },
  }),
};
