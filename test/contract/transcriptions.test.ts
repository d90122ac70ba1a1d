/**
 * Contract of OpenAI-compatible `POST /v1/audio/transcriptions` over a stub context: the three
 * response formats, the SSE events (`transcript.text.delta` append-only and adding up to
 * `transcript.text.done`, `transcript.text.partial`), errors naming the form field, and a failure
 * mid-stream as the one error event. The fake acoustic model hears a word per loud 0.2 s chunk; the
 * real decoder, endpointing and WAV reader run over it. Recognition quality is
 * test/transcriptions.test.ts's business.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { form, sseEvents, speech, wav } from '../helpers/contract-http.ts';
import { FakeGenerationEngine, fakeAcousticModel, type FakeAcousticOptions } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

function setup(config: StubOptions['config'] = {}, acoustic: FakeAcousticOptions = {}) {
  const asr = fakeAcousticModel(acoustic);
  const stub = stubContext({
    config,
    models: [
      { name: 'asr', task: 'speech-recognition', taskModel: asr },
      { name: 'chat', task: 'chat', taskModel: new FakeGenerationEngine().engine },
    ],
  });
  return { app: createApp(stub.ctx), asr, stub };
}

/** Two utterances: a word, a pause longer than the endpoint's 1.2 s, two words, a short pause. */
const TWO_UTTERANCES = speech([
  ['loud', 0.2],
  ['quiet', 1.6],
  ['loud', 0.4],
  ['quiet', 0.4],
]);
const post = (fields: Parameters<typeof form>[0]): RequestInit => ({ method: 'POST', body: form(fields) });
const file = (bytes: Uint8Array<ArrayBuffer> = TWO_UTTERANCES) => new Blob([bytes], { type: 'audio/wav' });

describe('POST /v1/audio/transcriptions', () => {
  it('answers {text} by default, text/plain for response_format=text', async () => {
    const { app } = setup();
    const res = await app.request('/v1/audio/transcriptions', post({ file: file(), model: 'asr' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const json = await res.json();
    expect(json).toEqual({ text: expect.stringMatching(/\S/) });
    const text = await app.request('/v1/audio/transcriptions', post({ file: file(), response_format: 'text' }));
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toBe(json.text);
  });

  it('answers verbose_json with duration, segments and word times', async () => {
    const { app } = setup();
    const res = await app.request('/v1/audio/transcriptions', post({ file: file(), response_format: 'verbose_json' }));
    const body = await res.json();
    expect(body).toEqual({ task: 'transcribe', language: 'english', duration: 2.6, text: expect.any(String), segments: expect.any(Array), words: expect.any(Array) });
    expect(body.segments).toHaveLength(2);
    body.segments.forEach((s: Record<string, unknown>, id: number) =>
      expect(s).toEqual({ id, start: expect.any(Number), end: expect.any(Number), text: expect.stringMatching(/\S/), confidence: expect.any(Number) }),
    );
    expect(body.segments.map((s: { text: string }) => s.text).join(' ')).toBe(body.text);
    for (const w of body.words) expect(w).toEqual({ word: expect.any(String), start: expect.any(Number), end: expect.any(Number), confidence: expect.any(Number) });
    expect(body.words.map((w: { word: string }) => w.word).join(' ')).toBe(body.text);
  });

  it('streams partials, append-only deltas with word times, then done with the whole text', async () => {
    const { app } = setup();
    const res = await app.request('/v1/audio/transcriptions', post({ file: file(), stream: 'true' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = sseEvents(await res.text()) as { type: string; text?: string; delta?: string; words?: unknown[] }[];
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['transcript.text.partial', 'transcript.text.delta', 'transcript.text.done']));
    const deltas = events.filter((e) => e.type === 'transcript.text.delta');
    expect(deltas).toHaveLength(2);
    for (const d of deltas)
      expect(d).toEqual({
        type: 'transcript.text.delta',
        delta: expect.stringMatching(/\S/),
        words: expect.arrayContaining([{ word: expect.any(String), start: expect.any(Number), end: expect.any(Number), confidence: expect.any(Number) }]),
      });
    const done = events.at(-1)!;
    expect(done).toEqual({ type: 'transcript.text.done', text: expect.any(String) });
    expect(deltas.map((d) => d.delta).join('')).toBe(done.text);
    for (const p of events.filter((e) => e.type === 'transcript.text.partial')) expect(p).toEqual({ type: 'transcript.text.partial', text: expect.any(String) });
    const json = await (await app.request('/v1/audio/transcriptions', post({ file: file() }))).json();
    expect(json.text).toBe(done.text);
  });

  it('answers silence with an empty text, and done with "" when streamed', async () => {
    const { app } = setup();
    const quiet = speech([['quiet', 0.5]]);
    expect(await (await app.request('/v1/audio/transcriptions', post({ file: file(quiet) }))).json()).toEqual({ text: '' });
    const events = sseEvents(await (await app.request('/v1/audio/transcriptions', post({ file: file(quiet), stream: 'true' }))).text());
    expect(events).toEqual([{ type: 'transcript.text.done', text: '' }]);
  });

  it("ends a stream whose recognizer fails with the one error event, and answers a failing request with a 500 in OpenAI's shape", async () => {
    const { app, stub } = setup({}, { failAtStep: 3 });
    const res = await app.request('/v1/audio/transcriptions', post({ file: file(), stream: 'true' }));
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text()) as { type: string }[];
    expect(events.at(-1)).toEqual({
      type: 'error',
      error: { message: expect.stringMatching(/^internal error: acoustic step failed/), type: 'server_error', param: null, code: 'internal' },
    });
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    expect(events.map((e) => e.type)).not.toContain('transcript.text.done');
    expect(stub.admission.count('asr', 'stream')).toBe(0);

    const { app: again } = setup({}, { failAtStep: 1 });
    const failed = await again.request('/v1/audio/transcriptions', post({ file: file() }));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({
      error: { message: expect.stringMatching(/^internal error: acoustic step failed/), type: 'server_error', param: null, code: 'internal' },
    });
  });

  it.each([
    ['no file part', () => post({ model: 'asr' }), 400, 'file'],
    ['a file that is not WAV', () => post({ file: new Blob(['not a wav']) }), 400, 'file'],
    ['a WAV with no samples', () => post({ file: file(wav(new Float32Array(0))) }), 400, 'file'],
    ['an unknown response_format', () => post({ file: file(), response_format: 'srt' }), 400, 'response_format'],
    ['stream that is not true/false', () => post({ file: file(), stream: 'yes' }), 400, 'stream'],
    ['an unknown decoder', () => post({ file: file(), decoder: 'fast' }), 400, 'decoder'],
    ['a hotword over 100 characters', () => post({ file: file(), hotwords: 'x'.repeat(101) }), 400, 'hotwords'],
    ['a model of another task', () => post({ file: file(), model: 'chat' }), 400, 'model'],
    ['an unknown model', () => post({ file: file(), model: 'nope' }), 404, 'model'],
    ['a body that is not multipart', () => ({ method: 'POST', body: '{"file": "x"}', headers: { 'content-type': 'application/json' } }), 400, 'body'],
  ] as const)("refuses %s in OpenAI's error shape naming the field", async (_, init, status, param) => {
    const { app, asr } = setup();
    const res = await app.request('/v1/audio/transcriptions', init());
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: status === 404 ? 'not_found_error' : 'invalid_request_error', param, code: status === 404 ? 'not_found' : 'invalid_argument' },
    });
    expect(asr.steps).toBe(0);
  });

  it('refuses audio over --max-audio-seconds (400 naming file) and a body over --max-body-bytes (413 naming body)', async () => {
    const { app } = setup({ limits: { maxAudioSeconds: 1, maxBodyBytes: 200_000 } });
    const long = await app.request('/v1/audio/transcriptions', post({ file: file() }));
    expect(long.status).toBe(400);
    expect((await long.json()).error).toMatchObject({ param: 'file', message: expect.stringMatching(/2.6 s long; the limit is 1 s/) });
    const big = await app.request('/v1/audio/transcriptions', post({ file: file(speech([['quiet', 8]])) }));
    expect(big.status).toBe(413);
    expect((await big.json()).error).toMatchObject({ param: 'body', code: 'payload_too_large', type: 'invalid_request_error' });
  });
});
