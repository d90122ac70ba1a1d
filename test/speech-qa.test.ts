/**
 * Spoken question answering end to end with the bundled models: the model card's held-out spoken
 * stories (re-created with espeak-ng and sox exactly as the recipe spoke them) through
 * POST /v1/speech-qa, the event stream, the gRPC SpeechQa stream, the CLI, and bad input.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { SeqserveHttpClient, type SpeechQaEvent } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { seqserveStub, serverStream } from './helpers/grpc-stream.ts';
import { questionWav, storyWav, type SpokenStory } from './helpers/spoken-story.ts';
import { startTestServer } from './helpers/test-server.ts';

const QA_DIR = path.join(BUNDLED_MODELS_DIR, 'speech_qa');
type SampleStory = SpokenStory & { task: string; answer: string; choices: string[]; recipe: { transcript: string; question_text: string; choice_index: number } };
const sample = readFileSync(path.join(QA_DIR, 'heldout-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as SampleStory);
const MAX_AUDIO_SECONDS = 240;

let server: Awaited<ReturnType<typeof startTestServer>>;
let client: SeqserveHttpClient;
let audio: { story: Uint8Array; question: Uint8Array | undefined }[];

beforeAll(async () => {
  server = await startTestServer({ limits: { ...DEFAULT_CONFIG.limits, maxAudioSeconds: MAX_AUDIO_SECONDS } });
  client = new SeqserveHttpClient(server.http);
  audio = sample.map((s) => ({ story: storyWav(s), question: questionWav(s) }));
});
afterAll(async () => {
  await server.close();
});

const questionOf = (i: number) => (audio[i].question ? { audio: audio[i].question! } : { text: sample[i].question_text });
const correct = (s: SampleStory, choiceIndex: number) => s.choices[choiceIndex].split(' ').at(-1) === s.answer;

function wav(samples: Int16Array, rate = 16000): Uint8Array {
  const w = new wavefile.WaveFile();
  w.fromScratch(1, rate, '16', samples);
  return w.toBuffer();
}

describe('speech-qa model card', () => {
  it('reproduces the accuracy per task on the committed spoken held-out stories through the API', async () => {
    const metrics = JSON.parse(readFileSync(path.join(QA_DIR, 'metrics.json'), 'utf8'));
    const card = readFileSync(path.join(QA_DIR, 'README.md'), 'utf8');
    const results = [];
    for (let i = 0; i < sample.length; i++) results.push(await client.speechQa(audio[i].story, questionOf(i), sample[i].choices));
    const byTask = new Map<string, boolean[]>();
    results.forEach((r, i) => byTask.set(sample[i].task, [...(byTask.get(sample[i].task) ?? []), correct(sample[i], r.choice_index)]));
    for (const [task, oks] of byTask) expect(oks.filter(Boolean).length / oks.length).toBeCloseTo(metrics.heldout_spoken_sample[task], 3);
    // the server hears the stories as the recipe did
    const sameTranscript = results.filter((r, i) => r.transcript === sample[i].recipe.transcript).length;
    expect(sameTranscript).toBeGreaterThanOrEqual(sample.length - 1);
    expect(card).toContain(`${(metrics.heldout_spoken.single * 100).toFixed(1)} %`);
    // the result's shape
    const r = results[0];
    expect(r.sentences.length).toBeGreaterThan(0);
    expect(r.choice_scores).toHaveLength(sample[0].choices.length);
    expect(r.choice_scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(r.hops).toHaveLength(3);
    for (const hop of r.hops) expect(hop).toHaveLength(r.sentences.length);
  });
});

describe('POST /v1/speech-qa', () => {
  it('streams story sentences as they are recognised, then the question, the answer and the choice', async () => {
    const i = sample.findIndex((s) => s.question_audio);
    const events: SpeechQaEvent[] = [];
    for await (const e of client.speechQaStream(audio[i].story, questionOf(i), sample[i].choices)) events.push(e);
    const types = events.map((e) => e.type);
    const firstQuestion = types.indexOf('question');
    expect(types.slice(0, firstQuestion).every((t) => t === 'story.partial' || t === 'story.sentence')).toBe(true);
    expect(types.filter((t) => t === 'story.partial').length).toBeGreaterThan(0);
    expect(types.slice(firstQuestion)).toEqual(['question', 'answer.token', 'result']);
    const result = events.at(-1) as Extract<SpeechQaEvent, { type: 'result' }>;
    const sentences = events.filter((e) => e.type === 'story.sentence').map((e) => (e as { text: string }).text);
    expect(result.sentences).toEqual(sentences);
    expect((events[firstQuestion] as { spoken: boolean }).spoken).toBe(true);
    expect((events[firstQuestion + 1] as { token: string }).token).toBe(result.answer);
    const plain = await client.speechQa(audio[i].story, questionOf(i), sample[i].choices);
    expect(plain.choice_index).toBe(result.choice_index);
  });

  it('answers bad input with 400 naming the field', async () => {
    const i = 0;
    const post = async (parts: [string, Blob | string][]) => {
      const form = new FormData();
      for (const [k, v] of parts) form.append(k, v);
      const res = await fetch(`${server.http}/v1/speech-qa`, { method: 'POST', body: form });
      return { status: res.status, error: ((await res.json()) as { error: { message: string; param: string } }).error };
    };
    const story = new Blob([audio[i].story as Uint8Array<ArrayBuffer>]);
    const q: [string, string] = ['question', sample[i].question_text];
    expect(await post([['story', story], q])).toMatchObject({ status: 400, error: { param: 'choices', message: expect.stringMatching(/missing/) } });
    expect(await post([['story', story], q, ['choices[]', 'kitchen']])).toMatchObject({ status: 400, error: { param: 'choices' } });
    expect(await post([['story', story], q, ['choices[]', 'kitchen'], ['choices[]', '  ']])).toMatchObject({ status: 400, error: { param: 'choices[1]' } });
    expect(
      await post([
        ['story', story],
        ['choices[]', 'a'],
        ['choices[]', 'b'],
      ]),
    ).toMatchObject({ status: 400, error: { param: 'question' } });
    expect(await post([['story', new Blob(['not audio'])], q, ['choices[]', 'a'], ['choices[]', 'b']])).toMatchObject({ status: 400, error: { param: 'story' } });
    expect(await post([q, ['choices[]', 'a'], ['choices[]', 'b']])).toMatchObject({ status: 400, error: { param: 'story' } });
    expect(await post([['story', story], q, ['choices[]', 'a'], ['choices[]', 'b'], ['recognizer', 'zz']])).toMatchObject({
      status: 404,
      error: { param: 'recognizer', message: 'unknown model "zz"' },
    });
    const silence = new Blob([wav(new Int16Array(16000)) as Uint8Array<ArrayBuffer>]);
    expect(await post([['story', silence], q, ['choices[]', 'a'], ['choices[]', 'b']])).toMatchObject({
      status: 400,
      error: { param: 'story', message: expect.stringMatching(/no speech/) },
    });
    const long = new Blob([wav(new Int16Array(8000 * (MAX_AUDIO_SECONDS + 1)), 8000) as Uint8Array<ArrayBuffer>]);
    expect(await post([['story', long], q, ['choices[]', 'a'], ['choices[]', 'b']])).toMatchObject({
      status: 400,
      error: { param: 'story', message: expect.stringMatching(/limit is 240 s/) },
    });
    // more sentences than the memory holds
    const picked: SampleStory[] = [];
    while (picked.reduce((n, s) => n + s.sentences.length, 0) < 20) picked.push(sample[picked.length]);
    // the stories' audio from beforeAll: synthesising here (synchronous) would block the in-process
    // server's event loop, whose keep-alive timer then closes the connection the next fetch has taken
    const stories = picked.map((_, k) => audio[k].story);
    const joined = stories.map((b) => new Int16Array(new wavefile.WaveFile(b).getSamples(false, Int16Array) as unknown as Int16Array));
    const all = new Int16Array(joined.reduce((n, a) => n + a.length, 0));
    joined.reduce((o, a) => (all.set(a, o), o + a.length), 0);
    expect(all.length / 16000).toBeLessThan(MAX_AUDIO_SECONDS);
    expect(await post([['story', new Blob([wav(all) as Uint8Array<ArrayBuffer>])], q, ['choices[]', 'a'], ['choices[]', 'b']])).toMatchObject({
      status: 400,
      error: { param: 'story', message: expect.stringMatching(/at most 16/) },
    });
  });
});

describe('gRPC seqserve.v1.SpeechQa/Ask', () => {
  it('streams the same result as HTTP, and maps bad input to INVALID_ARGUMENT', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/speech_qa.proto', 'SpeechQa', server.grpc);
    const i = 1;
    const question = audio[i].question ? { question_wav: audio[i].question } : { question_text: sample[i].question_text };
    const ok = await serverStream<{ event: string; result?: { choice_index: number; transcript: string; hops: { attention: number[] }[] } }>(stub, 'Ask', {
      story_wav: audio[i].story,
      ...question,
      choices: sample[i].choices,
    });
    expect(ok.error).toBeUndefined();
    const events = ok.messages.map((m) => m.event);
    expect(events.slice(-3)).toEqual(['question', 'answer_token', 'result']);
    expect(events).toContain('story_sentence');
    const http = await client.speechQa(audio[i].story, questionOf(i), sample[i].choices);
    const result = ok.messages.at(-1)!.result!;
    expect(result.choice_index).toBe(http.choice_index);
    expect(result.transcript).toBe(http.transcript);
    expect(result.hops).toHaveLength(3);
    const bad = await serverStream(stub, 'Ask', { story_wav: audio[i].story, question_text: 'where is mary', choices: ['kitchen'] });
    expect(bad.error).toMatchObject({ code: 3, details: expect.stringMatching(/^choices/) });
    close();
  });
});

describe('seqserve ask (CLI)', () => {
  it('prints the story, the question, the answer and the scored choices', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'seqserve-ask-'));
    try {
      const i = sample.findIndex((s) => !s.question_audio);
      writeFileSync(path.join(dir, 'story.wav'), audio[i].story);
      const cli = path.join(BUNDLED_MODELS_DIR, '..', 'bin', 'seqserve.js');
      const { stdout } = await promisify(execFile)('node', [
        cli,
        '--url',
        server.http,
        'ask',
        '--story',
        path.join(dir, 'story.wav'),
        '--question',
        sample[i].question_text,
        '--choice',
        ...sample[i].choices,
      ]);
      const http = await client.speechQa(audio[i].story, questionOf(i), sample[i].choices);
      expect(stdout).toContain(`question: ${sample[i].question_text}`);
      expect(stdout).toContain(`answer:   ${http.answer}`);
      expect(stdout).toContain(`→ ${sample[i].choices[http.choice_index]}`);
      expect(stdout.split('\n').filter((l) => l.startsWith('story:'))).toHaveLength(http.sentences.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
