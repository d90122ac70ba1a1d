/**
 * Contract of `POST /v1/speech-qa` over a stub context: the answer object, the SSE events in order
 * (story.partial / story.sentence, question, answer.token, result), errors naming the form field —
 * as a plain 400 before a stream starts when the request shows them, as the one error event when
 * recognition finds them. The fake recognizer hears a word per loud chunk (a pause of 0.5 s ends a
 * sentence); the fake memory network answers "kitchen". Answers to real stories are
 * test/speech-qa.test.ts's business.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { form, sseEvents, speech } from '../helpers/contract-http.ts';
import { FakeGenerationEngine, fakeAcousticModel, fakeMemoryNetwork } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

function setup(config: StubOptions['config'] = {}) {
  const asr = fakeAcousticModel({ words: ['mary', 'went', 'to', 'the', 'kitchen'] });
  const stub = stubContext({
    config,
    models: [
      { name: 'asr', task: 'speech-recognition', taskModel: asr },
      { name: 'qa', task: 'speech-qa', taskModel: fakeMemoryNetwork('asr') },
      { name: 'chat', task: 'chat', taskModel: new FakeGenerationEngine().engine },
    ],
  });
  return { app: createApp(stub.ctx), asr, stub };
}

/** Two sentences of two words (0.4 s each), each followed by a pause over 0.5 s. */
const STORY = new Blob([
  speech([
    ['loud', 0.4],
    ['quiet', 0.8],
    ['loud', 0.4],
    ['quiet', 0.8],
  ]),
]);
const CHOICES = ['the kitchen', 'the garden'];
const post = (fields: Parameters<typeof form>[0]): RequestInit => ({ method: 'POST', body: form(fields) });

describe('POST /v1/speech-qa', () => {
  it('answers the transcript, sentences, answer, the chosen choice with scores, and attention per hop', async () => {
    const { app } = setup();
    const res = await app.request('/v1/speech-qa', post({ story: STORY, question: 'where is mary', 'choices[]': CHOICES }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toEqual({
      model: 'qa',
      transcript: expect.any(String),
      sentences: [expect.stringMatching(/\S/), expect.stringMatching(/\S/)],
      question_text: 'where is mary',
      answer: 'kitchen',
      choices: CHOICES,
      choice_index: 0,
      choice_scores: [expect.any(Number), expect.any(Number)],
      hops: expect.any(Array),
    });
    expect(body.transcript).toBe(`${body.sentences.join('. ')}.`);
    expect(body.choice_scores[0] + body.choice_scores[1]).toBeCloseTo(1);
    expect(body.hops).toHaveLength(3);
    for (const hop of body.hops) expect(hop).toHaveLength(2);
  });

  it("streams story events, the question, the answer token, then the result (the JSON reply's object)", async () => {
    const { app } = setup();
    const res = await app.request('/v1/speech-qa', post({ story: STORY, question: 'where is mary', choices: CHOICES, stream: 'true' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = sseEvents(await res.text()) as Record<string, unknown>[];
    const types = events.map((e) => e.type);
    expect(types.slice(-3)).toEqual(['question', 'answer.token', 'result']);
    expect(types.slice(0, -3).every((t) => t === 'story.partial' || t === 'story.sentence')).toBe(true);
    const sentences = events.filter((e) => e.type === 'story.sentence');
    expect(sentences).toEqual([0, 1].map((sentence) => ({ type: 'story.sentence', sentence, text: expect.stringMatching(/\S/) })));
    for (const p of events.filter((e) => e.type === 'story.partial')) expect(p).toEqual({ type: 'story.partial', sentence: expect.any(Number), text: expect.any(String) });
    expect(events.at(-3)).toEqual({ type: 'question', text: 'where is mary', spoken: false });
    expect(events.at(-2)).toEqual({ type: 'answer.token', token: 'kitchen', logprob: expect.any(Number) });
    const json = await (await app.request('/v1/speech-qa', post({ story: STORY, question: 'where is mary', choices: CHOICES }))).json();
    expect(events.at(-1)).toEqual({ type: 'result', ...json });
  });

  it('takes a spoken question (a WAV part) and says it was spoken', async () => {
    const { app } = setup();
    const question = new Blob([
      speech([
        ['loud', 0.2],
        ['quiet', 0.3],
      ]),
    ]);
    const events = sseEvents(await (await app.request('/v1/speech-qa', post({ story: STORY, question, 'choices[]': CHOICES, stream: 'true' }))).text()) as Record<
      string,
      unknown
    >[];
    expect(events.find((e) => e.type === 'question')).toEqual({ type: 'question', text: expect.stringMatching(/\S/), spoken: true });
  });

  it.each([
    ['no story', { question: 'where is mary', 'choices[]': CHOICES }, 400, 'story'],
    ['a story that is a text field', { story: 'once upon a time', question: 'where is mary', 'choices[]': CHOICES }, 400, 'story'],
    ['a story that is not WAV', { story: new Blob(['nope']), question: 'where is mary', 'choices[]': CHOICES }, 400, 'story'],
    ['no question', { story: STORY, 'choices[]': CHOICES }, 400, 'question'],
    ['a question without words', { story: STORY, question: '???', 'choices[]': CHOICES }, 400, 'question'],
    ['one choice', { story: STORY, question: 'where is mary', 'choices[]': ['the kitchen'] }, 400, 'choices'],
    ['five choices', { story: STORY, question: 'where is mary', 'choices[]': ['a1', 'b2', 'c3', 'd4', 'e5'] }, 400, 'choices'],
    ['an empty choice', { story: STORY, question: 'where is mary', 'choices[]': ['the kitchen', '  '] }, 400, 'choices[1]'],
    ['a choice that is a file', { story: STORY, question: 'where is mary', 'choices[]': ['the kitchen', new Blob(['x'])] }, 400, 'choices[1]'],
    ['stream that is not true/false', { story: STORY, question: 'where is mary', 'choices[]': CHOICES, stream: 'maybe' }, 400, 'stream'],
    ['a model of another task', { story: STORY, question: 'where is mary', 'choices[]': CHOICES, model: 'chat' }, 400, 'model'],
    ['an unknown model', { story: STORY, question: 'where is mary', 'choices[]': CHOICES, model: 'nope' }, 404, 'model'],
  ] as const)('refuses %s with a plain error naming the field, streamed or not, before recognising anything', async (_, fields, status, param) => {
    const { app, asr } = setup();
    for (const stream of ['false', 'true']) {
      const res = await app.request('/v1/speech-qa', post({ stream, ...fields }));
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        error: { message: expect.any(String), type: status === 404 ? 'not_found_error' : 'invalid_request_error', param, code: status === 404 ? 'not_found' : 'invalid_argument' },
      });
    }
    expect(asr.steps).toBe(0);
  });

  it('a story in which no speech is recognised: a 400 naming story, or when streamed the one error event naming it', async () => {
    const { app, stub } = setup();
    const silence = new Blob([speech([['quiet', 0.6]])]);
    const res = await app.request('/v1/speech-qa', post({ story: silence, question: 'where is mary', 'choices[]': CHOICES }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: expect.stringMatching(/no speech was recognised/), type: 'invalid_request_error', param: 'story', code: 'invalid_argument' },
    });
    const stream = await app.request('/v1/speech-qa', post({ story: silence, question: 'where is mary', 'choices[]': CHOICES, stream: 'true' }));
    expect(stream.status).toBe(200);
    expect(sseEvents(await stream.text()).at(-1)).toEqual({
      type: 'error',
      error: { message: expect.stringMatching(/no speech was recognised/), type: 'invalid_request_error', param: 'story', code: 'invalid_argument' },
    });
    expect(stub.admission.count('qa', 'stream')).toBe(0);
  });

  it('a story with more sentences than the memory holds: 400 naming story', async () => {
    const { app } = setup();
    const long = new Blob([
      speech(
        Array.from(
          { length: 5 },
          () =>
            [
              ['loud', 0.2],
              ['quiet', 0.8],
            ] as ['loud' | 'quiet', number][],
        ).flat(),
      ),
    ]);
    const res = await app.request('/v1/speech-qa', post({ story: long, question: 'where is mary', 'choices[]': CHOICES }));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ param: 'story', message: expect.stringMatching(/at most 4/) });
  });
});
