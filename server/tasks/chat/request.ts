/**
 * OpenAI chat-completion requests: the schema (with seqserve's extensions) and the translation of
 * `messages` into the encoder input of a seq2seq chat model (role token + words per turn, the most
 * recent turns that fit). Used by the HTTP route and the gRPC service.
 */
import { z } from 'zod';
import { invalidArgument } from '../../core/errors.ts';
import type { GenerateRequest, ImageSource } from '../../core/generation/generation-engine.ts';
import type { Seq2SeqModel } from '../../core/generation/seq2seq-model.ts';
import { DecodingParams, decodingRequest } from '../decoding-params.ts';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string(), detail: z.string().optional() }) });
const Content = z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPart, ImagePart]), { error: 'must be a string or an array of content parts' })]);

export const Message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'must be one of system, developer, user, assistant' }),
  content: Content,
  name: z.string().optional(),
});

export const ChatCompletionRequest = DecodingParams.extend({
  model: z.string().min(1).optional(),
  messages: z.array(Message, { error: 'must be an array of messages' }).min(1, 'must contain at least one message'),
  max_completion_tokens: z.number().int().positive('must be at least 1').nullish(),
  n: z.number().int().min(1).max(8, 'must be at most 8').nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4, 'at most 4 stop sequences')]).nullish(),
  logprobs: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** The text of a message's content; image parts are refused by text-only models. */
function textOf(m: z.infer<typeof Message>, index: number): string {
  if (typeof m.content === 'string') return m.content;
  return m.content
    .map((p, j) => {
      if (p.type === 'image_url') throw invalidArgument(`messages[${index}].content[${j}]`, 'this model does not take images');
      return p.text;
    })
    .join(' ');
}

/** Encoder tokens for the conversation: its most recent maxSourceTokens tokens (the last message must fit whole); system turns are not part of the model's input. */
export function promptTokens(model: Seq2SeqModel, messages: ChatCompletionRequest['messages']): { tokens: number[]; sourcePieces: string[] } {
  const { spec, tokenizer } = model;
  if (!messages.some((m) => m.role === 'user')) throw invalidArgument('messages', 'must contain a user message');
  const turns: number[][] = [];
  let total = 0;
  for (let i = messages.length - 1; i >= 0 && total < spec.maxSourceTokens; i--) {
    const m = messages[i];
    if (m.role !== 'user' && m.role !== 'assistant') continue;
    const role = spec.roles ? [m.role === 'user' ? spec.roles.user : spec.roles.assistant] : [];
    const turn = [...role, ...tokenizer.encode(textOf(m, i))];
    if (turns.length === 0 && turn.length > spec.maxSourceTokens)
      throw invalidArgument(`messages[${i}].content`, `is ${turn.length} tokens long; the model accepts at most ${spec.maxSourceTokens}`);
    turns.unshift(turn);
    total += turn.length;
  }
  // the most recent tokens, as the model was trained (an older turn may be cut at its start)
  const all = turns.flat();
  const tokens = all.slice(Math.max(0, all.length - spec.maxSourceTokens));
  // a conversation that tokenizes to nothing (whitespace, emoji, letters the tokenizer does not know)
  // would feed the encoder role tokens only, or an empty sequence: refused, naming the latest user turn
  if (tokens.length === 0 || tokens.every((t) => t === spec.roles?.user || t === spec.roles?.assistant)) {
    const last = messages.findLastIndex((m) => m.role === 'user');
    throw invalidArgument(`messages[${last}].content`, 'has no text the model can read (nor has any other turn of the conversation)');
  }
  return { tokens, sourcePieces: tokens.map((t) => tokenizer.vocab[t]) };
}

/** The engine request for an API request (limits checked here, with OpenAI's parameter names). */
export function generateRequest(model: Seq2SeqModel, body: ChatCompletionRequest, source: number[] | ImageSource): GenerateRequest {
  if (body.top_logprobs && !body.logprobs) throw invalidArgument('top_logprobs', 'needs logprobs: true');
  const beamWidth = body.beam_width ?? 1;
  const n = body.n ?? 1;
  if (beamWidth > 1 && n > beamWidth) throw invalidArgument('n', `must not exceed beam_width (${beamWidth})`);
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const maxTokensField = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  return {
    source,
    // chat's default temperature is OpenAI's, 1
    ...decodingRequest({ ...body, max_tokens: body.max_completion_tokens ?? body.max_tokens }, model.spec.maxNewTokens, { temperature: 1, maxTokensField }),
    n,
    stop: stop.filter(Boolean),
    topLogprobs: body.logprobs ? Math.max(body.top_logprobs ?? 0, 0) : 0,
    // OpenAI reports log-probabilities only when asked; without them greedy decoding skips a pass over the vocabulary
    logProbs: body.logprobs ?? false,
  };
}
