/**
 * `POST /v1/speech-qa`: multipart `story` (WAV), `question` (text field or WAV part), `choices[]`
 * (2-4 text fields; `choices` also works), optional `model`, `recognizer`, `stream`. Answers
 * `{transcript, sentences, question_text, answer, choices, choice_index, choice_scores, hops}`;
 * `stream=true` sends server-sent events in order: `story.partial` / `story.sentence` as the story
 * is recognised, `question`, `answer.token`, then `result` (the same object).
 */
import { Hono } from 'hono';
import { asSeqserveError, invalidArgument } from '../../../core/errors.ts';
import type { ServerContext } from '../../../context.ts';
import { collectCall, openCall } from '../../../service/task-call.ts';
import { speechQa } from '../index.ts';
import { resolveSpeechQa, type SpeechQaParts } from './speech-qa-request.ts';
import type { SpeechQaResult } from '../../../core/qa/spoken-qa.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';

async function partsOf(form: FormData): Promise<SpeechQaParts & { stream: boolean }> {
  const text = (name: string): string | undefined => {
    const v = form.get(name);
    if (v === null) return undefined;
    if (typeof v !== 'string') throw invalidArgument(name, 'must be a text field');
    return v;
  };
  const story = form.get('story');
  if (typeof story === 'string') throw invalidArgument('story', 'must be a WAV file part');
  const q = form.get('question');
  const choices = [...form.getAll('choices[]'), ...form.getAll('choices')].map((c, i) => {
    if (typeof c !== 'string') throw invalidArgument(`choices[${i}]`, 'must be a text field');
    return c;
  });
  const stream = text('stream') ?? 'false';
  if (stream !== 'true' && stream !== 'false') throw invalidArgument('stream', 'must be true or false');
  const model = text('model');
  const recognizer = text('recognizer');
  return {
    ...(model ? { model } : {}),
    ...(recognizer ? { recognizer } : {}),
    story: story ? new Uint8Array(await story.arrayBuffer()) : undefined,
    question: q === null ? undefined : typeof q === 'string' ? { text: q } : { audio: new Uint8Array(await q.arrayBuffer()) },
    choices,
    stream: stream === 'true',
  };
}

export function speechQaRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.post('/v1/speech-qa', async (c) => {
    const parts = await partsOf(await readForm(c, ctx.config.limits.maxBodyBytes, '"story", "question" and "choices[]" parts'));
    const { loaded, input } = resolveSpeechQa(ctx, parts);
    const call = openCall(
      ctx,
      { model: loaded.name, endpoint: parts.stream ? 'speech_qa_stream' : 'speech_qa', kind: parts.stream ? 'stream' : 'request', signal: requestSignal(c) },
      (signal) => speechQa.run(input.memory, input, signal),
    );
    if (parts.stream) {
      async function* events(): AsyncGenerator<string> {
        for await (const e of call) yield JSON.stringify(e.type === 'result' ? { type: 'result', model: loaded.name, ...e.result } : e);
      }
      return sseResponse(c, events(), { log: ctx.log, streams: ctx.openStreams, close: () => call.return() });
    }
    const result = await collectCall(call, async (events) => {
      let out: SpeechQaResult | undefined;
      for await (const e of events) if (e.type === 'result') out = e.result;
      return out!;
    });
    return c.json({ model: loaded.name, ...result });
  });
  return app;
}
