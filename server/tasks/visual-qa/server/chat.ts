/**
 * The OpenAI vision input answered by a visual-qa model: `POST /v1/chat/completions` whose `model`
 * names a visual-qa model, with a user message holding an `image_url` part (a data: URL) and text
 * parts (the question). The completion's content is the answer; `stream: true` sends it as OpenAI's
 * chat.completion.chunk events. Only the last user message is read (the model answers one question
 * about one image; earlier turns are not its input). Extension: with `include_attention`, the choice
 * carries `vqa: {answers, attention}` (the top answers with probabilities, the attention over the
 * region grid). Without `model` (or with a caption model) the chat route captions the image as before.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { invalidArgument } from '../../../core/errors.ts';
import type { ServerContext } from '../../../context.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { collectCall, onlyEvent, openCall } from '../../../service/task-call.ts';
import type { ChatCompletionRequest } from '../../chat/request.ts';
import { answerItems, checkQuestions, decodePair, vqaAnswerJson } from './answer.ts';

/** The visual-qa model a chat request names, if it names one that is ready. */
export function visualQaModelOf(ctx: ServerContext, body: Pick<ChatCompletionRequest, 'model'>): TaskLoadedModel<'visual-qa'> | undefined {
  if (body.model === undefined) return undefined;
  return ctx.repository.readyModels().find((m): m is TaskLoadedModel<'visual-qa'> => m.name === body.model && m.task === 'visual-qa');
}

/** The image and question of the last user message (refused, naming the field, when either is missing). */
export function visionQuestion(messages: ChatCompletionRequest['messages']): { url: string; question: string; imageField: string; questionField: string } {
  const i = messages.findLastIndex((m) => m.role === 'user');
  if (i < 0) throw invalidArgument('messages', 'must contain a user message (an image_url part and a text part with the question)');
  const content = messages[i].content;
  const parts = typeof content === 'string' ? [{ type: 'text' as const, text: content }] : content;
  const images = parts.flatMap((p, j) => (p.type === 'image_url' ? [{ url: p.image_url.url, field: `messages[${i}].content[${j}].image_url.url` }] : []));
  if (images.length === 0) throw invalidArgument(`messages[${i}].content`, 'a visual-qa model needs an image_url part (a data: URL) beside the question');
  if (images.length > 1) throw invalidArgument(`messages[${i}].content`, `has ${images.length} images; a visual-qa model answers about one`);
  const question = parts
    .flatMap((p) => (p.type === 'text' ? [p.text] : []))
    .join(' ')
    .trim();
  return { url: images[0].url, question, imageField: images[0].field, questionField: `messages[${i}].content` };
}

export async function vqaChatCompletion(ctx: ServerContext, c: Context, body: ChatCompletionRequest, loaded: TaskLoadedModel<'visual-qa'>): Promise<Response> {
  if ((body.n ?? 1) !== 1) throw invalidArgument('n', 'a visual-qa model gives one answer (n: 1)');
  if ((body.beam_width ?? 1) !== 1) throw invalidArgument('beam_width', 'a visual-qa model does not decode: it picks one answer');
  const q = visionQuestion(body.messages);
  const fields = { image: q.imageField, question: q.questionField };
  checkQuestions(loaded, [{ question: q.question, fields }]);
  // the image decoded before the call opens (as captioning does): a bad image is a 400 even with stream: true, not an error event after a 200
  const item = await decodePair(ctx, loaded, { bytes: imageBytesFromText(q.url, q.imageField), question: q.question, fields });
  const call = openCall(ctx, { model: loaded.name, endpoint: body.stream ? 'chat_stream' : 'chat', kind: body.stream ? 'stream' : 'request', signal: requestSignal(c) }, (signal) =>
    answerItems(loaded, [item], undefined, signal),
  );
  const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
  const base = { id, created: Math.floor(Date.now() / 1000), model: loaded.name, system_fingerprint: `seqserve-${loaded.name}-${loaded.version}` };
  const regions = (loaded.taskModel.image.grid ?? [1, 1]).reduce((a, b) => a * b, 1);
  const usage = (words: number) => ({ prompt_tokens: words + regions, completion_tokens: 1, total_tokens: words + regions + 1 });
  const extension = (json: Record<string, unknown>) => (body.include_attention ? { vqa: json } : {});

  if (body.stream) {
    async function* chunks(): AsyncGenerator<string> {
      const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, logprobs: null, ...choice }], ...extra });
      yield chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null });
      for await (const [r] of call) {
        const json = vqaAnswerJson(r);
        yield chunk({ delta: { content: r.answer }, finish_reason: null, ...extension(json) });
        yield chunk({ delta: {}, finish_reason: 'stop' });
        if (body.stream_options?.include_usage) yield JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(r.words.length) });
      }
      yield '[DONE]';
    }
    await call.started(); // refused once the work starts (a full waiting list): a status, not an error event after a 200
    return sseResponse(c, chunks(), { log: ctx.log, streams: ctx.openStreams, close: async () => void (await call.return()) });
  }
  const [r] = await collectCall(call, onlyEvent);
  return c.json({
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: r.answer, refusal: null }, logprobs: null, finish_reason: 'stop', ...extension(vqaAnswerJson(r)) }],
    usage: usage(r.words.length),
  });
}
