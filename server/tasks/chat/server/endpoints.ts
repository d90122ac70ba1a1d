/**
 * The chat task's endpoints: OpenAI-compatible `POST /v1/chat/completions` (an image part is
 * answered by a caption model) and `seqserve.v1.Generation/Generate` over gRPC.
 */
import { arrayOf, int, json, nullable, num, obj, ok, ref, sse, SSE_NOTE, str, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { ChatCompletionRequest, Message } from '../request.ts';
import { chatGenerate } from './generate.ts';
import { generateMethod } from './grpc.ts';
import { chatRoutes } from './http.ts';

const NOTES = {
  model: 'a chat model (default: the first ready one); a caption model answers a message with an image part',
  messages: "system and developer turns are accepted and not fed to the model; the most recent tokens up to the model's source limit are",
  max_tokens: "at most the model's generation.maxNewTokens (its default)",
  max_completion_tokens: 'as max_tokens; wins over it',
  temperature: '0 = greedy; default 1',
  stop: 'up to 4 strings; never emitted',
  seed: 'same seed, same output',
  top_logprobs: 'needs logprobs: true',
  stream: 'server-sent events: a chunk per token, then `data: [DONE]`',
  presence_penalty: 'accepted and ignored (use repetition_penalty)',
  frequency_penalty: 'accepted and ignored (use repetition_penalty)',
  top_k: 'seqserve extension; 0 = off',
  repetition_penalty: 'seqserve extension',
  beam_width: 'seqserve extension: beam search (the n best beams; n <= beam_width)',
  length_penalty: 'seqserve extension: GNMT length penalty of beam search (default 0.6)',
  include_attention: 'seqserve extension: each choice carries attention weights over the source tokens',
};

const tokenLogprob = obj({ token: str, logprob: num, bytes: { ...arrayOf(int), description: 'UTF-8 bytes of token' } });
const tokenLogprobs = obj({ content: arrayOf(obj({ ...(tokenLogprob.properties as Record<string, unknown>), top_logprobs: arrayOf(tokenLogprob) })) });
const usage = obj({ prompt_tokens: int, completion_tokens: int, total_tokens: int });

export const endpoints: TaskEndpoints = {
  openAiErrorPaths: ['/v1/chat'],
  http: chatRoutes,
  generate: chatGenerate,
  grpc: { protos: ['seqserve/v1/generation.proto'], services: (ctx) => ({ 'seqserve.v1.Generation': generateMethod(ctx) }) },
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/chat/completions',
        operationId: 'createChatCompletion',
        tag: 'OpenAI-compatible',
        summary: "Chat completion with a seq2seq chat model (or an image's caption, for a message with an image part)",
        body: { required: true, content: json(ref('ChatCompletionRequest')) },
        responses: {
          200: ok('The completion; with `stream: true` a chunk per token', {
            ...json(ref('ChatCompletion')),
            ...sse(
              { oneOf: [ref('ChatCompletionChunk'), ref('StreamErrorEvent')] },
              `${SSE_NOTE} The first chunk of each choice has delta.role; a last chunk has finish_reason; a usage chunk follows when asked; then \`data: [DONE]\`.`,
            ),
          }),
        },
        errors: WORK_ERRORS,
        badInput: ['messages[0].role', 'must be one of system, developer, user, assistant'],
      },
    ],
    jsonBodies: [
      { id: 'ChatCompletionRequest', schema: ChatCompletionRequest, notes: NOTES },
      { id: 'ChatMessage', schema: Message },
    ],
    schemas: {
      ChatCompletion: obj({
        id: str,
        object: { const: 'chat.completion' },
        created: int,
        model: str,
        system_fingerprint: str,
        choices: arrayOf(
          obj(
            {
              index: int,
              message: obj({ role: { const: 'assistant' }, content: str, refusal: { type: 'null' } }),
              logprobs: { ...nullable(tokenLogprobs), description: 'with logprobs: true' },
              finish_reason: { enum: ['stop', 'length'] },
              attention: {
                ...obj({
                  source_tokens: arrayOf(str),
                  output_tokens: arrayOf(str),
                  weights: { ...arrayOf(arrayOf(num)), description: 'a row per output token over source_tokens' },
                }),
                description: 'seqserve extension, with include_attention',
              },
            },
            ['index', 'message', 'logprobs', 'finish_reason'],
          ),
        ),
        usage,
      }),
      ChatCompletionChunk: obj(
        {
          id: str,
          object: { const: 'chat.completion.chunk' },
          created: int,
          model: str,
          system_fingerprint: str,
          choices: {
            ...arrayOf(
              obj(
                {
                  index: int,
                  delta: obj({ role: { const: 'assistant' }, content: str }, []),
                  logprobs: nullable(tokenLogprobs),
                  finish_reason: { enum: ['stop', 'length', null] },
                  source_tokens: { ...arrayOf(str), description: 'with include_attention, on the first chunk of each choice' },
                  attention: { ...nullable(arrayOf(num)), description: "with include_attention: the token's row over source_tokens" },
                },
                ['index', 'delta', 'logprobs', 'finish_reason'],
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
