/**
 * OpenAI-compatible `POST /v1/chat/completions` (non-streaming and `stream: true` server-sent
 * events). Extensions: `top_k`, `repetition_penalty`, `beam_width`,
 * `length_penalty`, and `include_attention` (each choice carries the attention over the source
 * tokens for every generated token). A message with an image part (OpenAI vision input, a data: URL)
 * is answered by a caption model with the image's caption (without `model`: the default caption
 * model), or, when `model` names a visual-qa model, with its answer to the message's question.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { FinishEvent, GenerationEvent, TokenEvent } from '../../../core/generation/generation-engine.ts';
import type { ServerContext } from '../../../context.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { runTask } from '../../../runtime/task-models.ts';
import { collectCall, openCall } from '../../../service/task-call.ts';
import { caption } from '../../caption/index.ts';
import { chat } from '../index.ts';
import { ChatCompletionRequest } from '../request.ts';
import { chatGeneration } from './chat-source.ts';
import { vqaChatCompletion, visualQaModelOf } from '../../visual-qa/server/chat.ts';
import { readJson } from '../../../http/read-json.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';

function logprobEntry(e: TokenEvent) {
  const bytes = (s: string) => [...new TextEncoder().encode(s)];
  return {
    token: e.piece,
    logprob: e.logProb,
    bytes: bytes(e.piece),
    top_logprobs: (e.top ?? []).map((t) => ({ token: t.piece, logprob: t.logProb, bytes: bytes(t.piece) })),
  };
}

export function chatRoutes(ctx: ServerContext): Hono {
  const app = new Hono();

  app.post('/v1/chat/completions', async (c) => {
    const body = await readJson(c, ChatCompletionRequest, ctx.config.limits.maxBodyBytes);
    // a request naming a visual-qa model: its answer to the question about the image (server/tasks/visual-qa/server/chat.ts)
    const vqa = visualQaModelOf(ctx, body);
    if (vqa) return vqaChatCompletion(ctx, c, body, vqa);
    const { loaded, engine, request, promptTokens, sourcePieces } = await chatGeneration(ctx, body);
    const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, created, model: loaded.name, system_fingerprint: `seqserve-${loaded.name}-${loaded.version}` };
    const n = request.n ?? 1;
    const withLogprobs = body.logprobs ?? false;
    const countTokens = (k: number) => ctx.metrics.generatedTokens.inc({ model: loaded.name }, k);
    // the place is taken and the request validated by the engine before any response starts
    const call = openCall(
      ctx,
      { model: loaded.name, endpoint: body.stream ? 'chat_stream' : 'chat', kind: body.stream ? 'stream' : 'request', signal: requestSignal(c) },
      (signal) =>
        // an image in the conversation is answered by a caption model (OpenAI vision input): same requests and events as chat
        runTask(loaded as TaskLoadedModel<'chat'>, request, signal),
    );

    if (body.stream) {
      // chunks share everything but their choices: the JSON around them is built once
      const head = JSON.stringify({ ...base, object: 'chat.completion.chunk' }).slice(0, -1) + ',"choices":[';
      const chunk = (choice: string, tail = ']}') => head + choice + tail;
      const plain = (index: number, content: string) => `{"index":${index},"delta":{"content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":null}`;
      let completion = 0;
      async function* chunks(): AsyncGenerator<string> {
        // with include_attention, the first chunk of each choice names the source tokens the weights are over
        const sources = request.attention ? `,"source_tokens":${JSON.stringify(sourcePieces)}` : '';
        for (let i = 0; i < n; i++) yield chunk(`{"index":${i},"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null${sources}}`);
        for await (const e of call) {
          if (e.type === 'token') {
            completion++;
            if (!withLogprobs && !request.attention) {
              yield chunk(plain(e.choice, e.delta));
              continue;
            }
            const choice: Record<string, unknown> = {
              index: e.choice,
              delta: { content: e.delta },
              logprobs: withLogprobs ? { content: [logprobEntry(e)] } : null,
              finish_reason: null,
            };
            if (request.attention) choice.attention = e.attention ?? null;
            yield chunk(JSON.stringify(choice));
          } else {
            if (e.delta) yield chunk(plain(e.choice, e.delta));
            yield chunk(`{"index":${e.choice},"delta":{},"logprobs":null,"finish_reason":"${e.reason}"}`);
          }
        }
        if (body.stream_options?.include_usage) {
          yield chunk('', `],"usage":${JSON.stringify({ prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion })}}`);
        }
        yield '[DONE]';
      }
      await call.started(); // refused once the work starts (a full waiting list): a status, not an error event after a 200
      return sseResponse(c, chunks(), {
        streams: ctx.openStreams,
        log: ctx.log,
        close: async () => {
          countTokens(completion);
          await call.return();
        },
      });
    }

    const result = await collectCall(call, async (events) => {
      const choices = Array.from({ length: n }, () => ({ tokens: [] as TokenEvent[], finish: undefined as FinishEvent | undefined }));
      for await (const e of events) {
        if (e.type === 'token') choices[e.choice].tokens.push(e);
        else choices[e.choice].finish = e;
      }
      return choices;
    });
    const completion = result.reduce((a, ch) => a + ch.tokens.length, 0);
    countTokens(completion);
    return c.json({
      ...base,
      object: 'chat.completion',
      choices: result.map((ch, index) => ({
        index,
        message: { role: 'assistant', content: ch.finish?.text ?? '', refusal: null },
        logprobs: withLogprobs ? { content: ch.tokens.map((t) => logprobEntry(t)) } : null,
        finish_reason: ch.finish?.reason ?? 'stop',
        ...(request.attention
          ? { attention: { source_tokens: sourcePieces, output_tokens: ch.tokens.map((t) => t.piece), weights: ch.tokens.map((t) => t.attention ?? []) } }
          : {}),
      })),
      usage: { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion },
    });
  });
  return app;
}
