/**
 * OpenAI-compatible legacy completions, `POST /v1/completions`, for text2text models (non-streaming,
 * and `stream: true` server-sent `text_completion` chunks then `data: [DONE]`). A prompt array
 * decodes its prompts together; choice `index` = prompt × n + choice. `logprobs: k` gives OpenAI's
 * `{tokens, token_logprobs, top_logprobs, text_offset}`. Extensions: `beam_width`, `length_penalty`,
 * `top_k`, `repetition_penalty`, and `include_attention` (the attention alignment: a row per output
 * token over the prompt's source tokens — for g2p, phonemes × letters).
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { ServerContext } from '../../../context.ts';
import { readJson } from '../../../http/read-json.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { collectCall, openCall } from '../../../service/task-call.ts';
import { collectChoices, completionLogprobs, formatChoices, tokenText } from '../choices.ts';
import { encodePrompts } from '../index.ts';
import { CompletionRequest, completionTaskRequest } from '../request.ts';

export function completionRoutes(ctx: ServerContext): Hono {
  const app = new Hono();

  app.post('/v1/completions', async (c) => {
    const body = await readJson(c, CompletionRequest, ctx.config.limits.maxBodyBytes);
    const loaded = resolveTaskModel(ctx.repository, 'text2text', body.model);
    const model = loaded.taskModel;
    const request = completionTaskRequest(body, model.engine.model.spec.maxNewTokens);
    // refused here, before any response starts (the executor would refuse the same)
    const sources = encodePrompts(model, request);
    const promptTokens = sources.reduce((a, s) => a + s.ids.length, 0);
    const n = request.generate.n ?? 1;
    const attention = request.generate.attention ?? false;
    const withLogprobs = body.logprobs != null;
    const echo = body.echo ?? false;
    const id = `cmpl-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: 'text_completion', created, model: loaded.name, system_fingerprint: `seqserve-${loaded.name}-${loaded.version}` };
    const countTokens = (k: number) => ctx.metrics.generatedTokens.inc({ model: loaded.name }, k);
    const call = openCall(
      ctx,
      { model: loaded.name, endpoint: body.stream ? 'completions_stream' : 'completions', kind: body.stream ? 'stream' : 'request', signal: requestSignal(c) },
      (signal) => runTask(loaded, request, signal),
    );
    const indexOf = (prompt: number, choice: number) => prompt * n + choice;
    const usage = (completion: number) => ({ prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion });

    if (body.stream) {
      const head = JSON.stringify(base).slice(0, -1) + ',"choices":[';
      const chunk = (choice: string, tail = ']}') => head + choice + tail;
      let completion = 0;
      async function* chunks(): AsyncGenerator<string> {
        // with echo, or attention, each choice opens with a chunk holding the prompt text / the source tokens
        if (echo || attention) {
          for (let p = 0; p < sources.length; p++) {
            for (let k = 0; k < n; k++) {
              const open: Record<string, unknown> = { text: echo ? request.prompts[p] : '', index: indexOf(p, k), logprobs: null, finish_reason: null };
              if (attention) open.source_tokens = sources[p].pieces;
              yield chunk(JSON.stringify(open));
            }
          }
        }
        const offsets = new Map<number, number>();
        for await (const e of call) {
          const index = indexOf(e.prompt, e.choice);
          if (e.type === 'token') {
            completion++;
            const choice: Record<string, unknown> = { text: e.delta, index, logprobs: null, finish_reason: null };
            if (withLogprobs) {
              const start = offsets.get(index) ?? (echo ? request.prompts[e.prompt].length : 0);
              choice.logprobs = completionLogprobs([e], start);
              offsets.set(index, start + tokenText(e).length);
            }
            if (attention) choice.attention = e.attention ?? null;
            yield chunk(JSON.stringify(choice));
          } else {
            yield chunk(JSON.stringify({ text: e.delta, index, logprobs: null, finish_reason: e.reason }));
          }
        }
        if (body.stream_options?.include_usage) yield chunk('', `],"usage":${JSON.stringify(usage(completion))}}`);
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

    const result = await collectCall(call, (events) => collectChoices(events, sources.length, n));
    const completion = result.reduce((a, ch) => a + ch.tokens.length, 0);
    countTokens(completion);
    return c.json({
      ...base,
      choices: formatChoices(
        request,
        sources.map((s) => s.pieces),
        result,
        echo,
      ),
      usage: usage(completion),
    });
  });
  return app;
}
