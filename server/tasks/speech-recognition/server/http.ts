/**
 * OpenAI-compatible `POST /v1/audio/transcriptions`: multipart `file` (WAV, any rate, mono or
 * stereo, PCM or float) and `model`; `response_format` json | text | verbose_json; `stream=true`
 * sends server-sent events `transcript.text.delta` (one per finished utterance) / `transcript.text.done`,
 * plus `transcript.text.partial` (the utterance in progress, replaced by each); each delta also carries
 * the utterance's `words` with start/end seconds (an extension). Extensions: `decoder`
 * (greedy | beam, default from the model's manifest) and `hotwords` phrases for the beam.
 */
import { Hono } from 'hono';
import { invalidArgument } from '../../../core/errors.ts';
import type { Transcript } from '../../../core/speech/ctc-stream-decoder.ts';
import type { ServerContext } from '../../../context.ts';
import { collectCall, openCall } from '../../../service/task-call.ts';
import { decodeAudioWithin } from '../../../core/audio/decode-wav.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { DecodingRequest } from '../../../core/speech/decoding-choice.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';

export const FORMATS = ['json', 'text', 'verbose_json'] as const;

function verbose(finals: Transcript[], duration: number) {
  return {
    task: 'transcribe',
    language: 'english',
    duration: Math.round(duration * 1000) / 1000,
    text: finals.map((t) => t.text).join(' '),
    segments: finals.map((t, id) => ({ id, start: t.start, end: t.end, text: t.text, confidence: t.confidence })),
    words: finals.flatMap((t) => t.words.map((w) => ({ word: w.word, start: round(w.start), end: round(w.end), confidence: w.confidence }))),
  };
}

export const MAX_HOTWORDS = 1000;
export const MAX_HOTWORD_CHARS = 100;

/** Extensions beyond OpenAI's fields: `decoder` (greedy | beam) and `hotwords` (repeated form field) to favour phrases. */
function decodingRequest(form: FormData): DecodingRequest {
  const decoder = form.get('decoder');
  if (decoder !== null && decoder !== 'greedy' && decoder !== 'beam') throw invalidArgument('decoder', 'must be greedy or beam');
  const hotwords = [...form.getAll('hotwords'), ...form.getAll('hotwords[]')].map((h) => {
    if (typeof h !== 'string') throw invalidArgument('hotwords', 'must be text fields');
    if (h.length > MAX_HOTWORD_CHARS) throw invalidArgument('hotwords', `a phrase is over ${MAX_HOTWORD_CHARS} characters`);
    return { phrase: h };
  });
  if (hotwords.length > MAX_HOTWORDS) throw invalidArgument('hotwords', `${hotwords.length} phrases is over the limit of ${MAX_HOTWORDS}`);
  return { hotwords, ...(decoder ? { decoder } : {}) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function transcriptionRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.post('/v1/audio/transcriptions', async (c) => {
    const form = await readForm(c, ctx.config.limits.maxBodyBytes, 'a "file" part');
    const file = form.get('file');
    if (!(file instanceof Blob)) throw invalidArgument('file', 'is required (a WAV file part)');
    const modelName = form.get('model');
    const format = String(form.get('response_format') ?? 'json');
    if (!(FORMATS as readonly string[]).includes(format)) throw invalidArgument('response_format', `must be one of ${FORMATS.join(', ')}`);
    const streamFlag = String(form.get('stream') ?? 'false');
    if (!['true', 'false'].includes(streamFlag)) throw invalidArgument('stream', 'must be true or false');
    const model = resolveTaskModel(ctx.repository, 'speech-recognition', typeof modelName === 'string' && modelName ? modelName : undefined);
    const audio = decodeAudioWithin(new Uint8Array(await file.arrayBuffer()), 'file', ctx.config.limits.maxAudioSeconds);
    const duration = audio.samples.length / audio.sampleRate;
    const acoustic = model.taskModel;
    const decoding = decodingRequest(form);

    const stream = streamFlag === 'true';
    const call = openCall(
      ctx,
      { model: model.name, endpoint: stream ? 'transcriptions_stream' : 'transcriptions', kind: stream ? 'stream' : 'request', signal: requestSignal(c) },
      (signal) => runTask(model, { audio, decoding }, signal),
    );

    if (stream) {
      async function* events(): AsyncGenerator<string> {
        const finals: string[] = [];
        for await (const e of call) {
          // Deltas are append-only, so they carry finished utterances; the utterance being
          // recognised (which the beam may still revise) goes out as a seqserve extension event.
          if (e.type === 'partial') {
            yield JSON.stringify({ type: 'transcript.text.partial', text: e.transcript.text });
            continue;
          }
          if (!e.transcript.text) continue;
          const words = e.transcript.words.map((w) => ({ word: w.word, start: round(w.start), end: round(w.end), confidence: w.confidence }));
          yield JSON.stringify({ type: 'transcript.text.delta', delta: (finals.length ? ' ' : '') + e.transcript.text, words });
          finals.push(e.transcript.text);
        }
        yield JSON.stringify({ type: 'transcript.text.done', text: finals.join(' ') });
      }
      return sseResponse(c, events(), { log: ctx.log, streams: ctx.openStreams, close: () => call.return() });
    }

    const finals = await collectCall(call, async (events) => {
      const out: Transcript[] = [];
      for await (const e of events) if (e.type === 'final') out.push(e.transcript);
      return out;
    });
    const text = finals.map((t) => t.text).join(' ');
    if (format === 'text') return c.text(text);
    if (format === 'verbose_json') return c.json(verbose(finals, duration));
    return c.json({ text });
  });
  return app;
}
