/**
 * `POST /v1/speech-qa`: multipart `story` (WAV), `question` (text field or WAV part), `choices[]`
 * (2-4 text fields; `choices` also works), optional `model`, `recognizer`, `stream`. Answers
 * `{transcript, sentences, question_text, answer, choices, choice_index, choice_scores, hops}`;
 * `stream=true` sends server-sent events in order: `story.partial` / `story.sentence` as the story
 * is recognised, `question`, `answer.token`, then `result` (the same object).
 */
import { Hono } from 'hono';
import { asSeqserveError, invalidArgument } from '../../core/errors.ts';
import type { ServerContext } from '../../context.ts';
import { trackedWork } from '../../runtime/tracked-work.ts';
import { resolveSpeechQa, type SpeechQaParts } from '../../speech-qa/speech-qa-request.ts';
import { answerSpokenQuestion, type SpeechQaResult } from '../../core/qa/spoken-qa.ts';
import { readForm } from '../read-form.ts';
import { requestSignal } from '../request-signal.ts';
import { sseResponse } from '../sse.ts';

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
    const abort = new AbortController();
    const { loaded, input } = resolveSpeechQa(ctx, parts, abort.signal);
    if (parts.stream) {
      const leave = ctx.admission.enter(loaded.name, 'stream');
      const events = answerSpokenQuestion(input); // lazy: nothing runs before the stream starts
      return sseResponse(c, async (sink) => {
        sink.signal.addEventListener('abort', () => abort.abort(), { once: true });
        try {
          await ctx.metrics.track(loaded.name, 'speech_qa_stream', async () => {
            for await (const e of events) {
              if (e.type === 'result') await sink.send(JSON.stringify({ type: 'result', model: loaded.name, ...e.result }));
              else await sink.send(JSON.stringify(e));
            }
          });
        } finally {
          await events.return(undefined);
        }
      }, { log: ctx.log, onDone: leave });
    }
    requestSignal(c).addEventListener('abort', () => abort.abort(), { once: true });
    const result = await trackedWork(ctx, loaded.name, 'speech_qa', async () => {
      let out: SpeechQaResult | undefined;
      for await (const e of answerSpokenQuestion(input)) if (e.type === 'result') out = e.result;
      return out!;
    });
    return c.json({ model: loaded.name, ...result });
  });
  return app;
}
