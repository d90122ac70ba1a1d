/**
 * Model executors through the real server: a task's calls run in the model's executor threads
 * (the main thread's copy of the task model never runs), live streams keep their recognizer there,
 * and a thread that dies fails only the calls it held while the other instance serves and a
 * replacement starts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import type { RecognitionEvent } from '../server/core/speech/recognizer-stream.ts';
import type { TaskLoadedModel } from '../server/runtime/model-repository.ts';
import { openTaskStream } from '../server/runtime/task-models.ts';
import { speechRecognition, type RecognitionStream, type RecognitionStreamOptions } from '../server/tasks/speech-recognition/index.ts';
import { SseReader } from './helpers/contract-http.ts';
import { startTestServer } from './helpers/test-server.ts';

describe('model executors (two instances of chat)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let chat: TaskLoadedModel<'chat'>;
  beforeAll(async () => {
    server = await startTestServer({ modelsDir: path.join(BUNDLED_MODELS_DIR, 'chat'), runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'], instances: 2 } });
    chat = server.context.repository.model('chat') as TaskLoadedModel<'chat'>;
  }, 60_000);
  afterAll(async () => {
    await server?.close(0);
  });

  /** A stream that makes far more events than a call may send ahead of its reader (8 choices x 48 tokens, near-uniform sampling). */
  const longStream = () =>
    fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], stream: true, n: 8, temperature: 2, seed: 3 }),
    });

  it('runs the chat engine in the executor threads, not on the main thread', async () => {
    expect(chat.executor?.runsTask).toBe(true);
    expect(chat.executor?.liveInstances).toBe(2);
    const reader = new SseReader(await longStream());
    await reader.next();
    // the stream is generating, in an executor: the main thread's engine has no sequence
    expect(chat.taskModel.activeSequences).toBe(0);
    await reader.reader.cancel();
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], temperature: 0 }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content.length).toBeGreaterThan(0);
  });

  it('a dead executor thread fails only the stream it held; the other finishes, and a replacement starts', async () => {
    const [a, b] = [new SseReader(await longStream()), new SseReader(await longStream())];
    await a.next();
    await b.next();
    // each stream is on its own instance (the least busy one is picked); end instance 0
    await chat.executor!.stopInstance(0);
    const drain = async (r: SseReader) => {
      const events: string[] = [];
      for (let e = await r.next(); e !== undefined; e = await r.next()) events.push(e);
      return events;
    };
    const [ea, eb] = await Promise.all([drain(a), drain(b)]);
    const failed = [ea, eb].filter((events) => events.some((e) => e.includes('"type":"error"')));
    expect(failed).toHaveLength(1);
    expect(failed[0].at(-1)).toMatch(/"code":"unavailable".*executor stopped|executor stopped.*"code":"unavailable"/);
    const finished = [ea, eb].find((events) => events !== failed[0])!;
    expect(finished.at(-1)).toBe('[DONE]');
    await expect.poll(() => chat.executor!.liveInstances, { timeout: 20_000 }).toBe(2);
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toMatch(/seqserve_executor_restarts_total\{model="chat"\} 1/);
  }, 60_000);
});

describe('model executors (a live recognition stream)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let asr: TaskLoadedModel<'speech-recognition'>;
  beforeAll(async () => {
    server = await startTestServer({ modelsDir: path.join(BUNDLED_MODELS_DIR, 'asr') });
    asr = server.context.repository.model('asr') as TaskLoadedModel<'speech-recognition'>;
  }, 60_000);
  afterAll(async () => {
    await server?.close(0);
  });

  it("keeps the stream's recognizer in the executor thread, with the same events as one on this thread", async () => {
    expect(asr.executor?.runsTask).toBe(true);
    const { samples, sampleRate } = decodeWav(new Uint8Array(readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr/heldout-sample/000.wav'))), 'file');
    const options: RecognitionStreamOptions = { sampleRate, decoding: { live: true } };
    const chunks = Array.from({ length: Math.ceil(samples.length / 1600) }, (_, i) => samples.slice(i * 1600, (i + 1) * 1600));
    const remote = await openTaskStream<Float32Array, RecognitionEvent[]>(asr, options);
    const here = speechRecognition.stream!.open(asr.taskModel, options) as RecognitionStream;
    const [inThread, onMain]: RecognitionEvent[][] = [[], []];
    for (const chunk of chunks) {
      inThread.push(...(await remote.push(chunk.slice())));
      onMain.push(...(await here.push(chunk)));
    }
    inThread.push(...(await remote.end()));
    onMain.push(...(await here.end()));
    expect(inThread.filter((e) => e.type === 'final').length).toBeGreaterThan(0);
    expect(inThread).toEqual(onMain);
  });
});

describe('model executors: instances from the manifest', () => {
  it("takes the model's own instance count over the server's, and refuses a count below 1 naming the field", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'seqserve-instances-'));
    try {
      const models = path.join(dir, 'models');
      cpSync(path.join(BUNDLED_MODELS_DIR, 'slots'), path.join(models, 'slots'), { recursive: true });
      cpSync(path.join(BUNDLED_MODELS_DIR, 'slots'), path.join(models, 'slots-bad'), { recursive: true });
      const manifest = (name: string) => path.join(models, name, 'manifest.json');
      const edit = (name: string, instances: number) =>
        writeFileSync(manifest(name), JSON.stringify({ ...(JSON.parse(readFileSync(manifest(name), 'utf8')) as object), name, instances }));
      edit('slots', 3);
      edit('slots-bad', 0);
      const server = await startTestServer({ modelsDir: models });
      try {
        expect(server.context.repository.model('slots').executor?.liveInstances).toBe(3);
        const status = await server.context.repository.list();
        expect(status.find((m) => m.name === 'slots-bad')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/instances/) as unknown });
      } finally {
        await server.close(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
