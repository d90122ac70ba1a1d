/**
 * A recognizer whose manifest picks the VAD endpointer (`endpointing: {"mode": "vad"}` with the
 * bundled Silero VAD v5 as a graph of role "vad"), through the real server: the official
 * @google-cloud/speech client's single_utterance ends at a pause the default CTC-blank rule sits
 * through (a manifest's shorter CTC-blank silence does not), HTTP transcription splits at the same
 * pauses, concurrent streams keep their own VAD state, odd audio (silence only, tiny messages,
 * full-scale noise, NaN samples) never breaks a stream or the server, and a manifest whose
 * endpointing is wrong is refused naming the field.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import speech from '@google-cloud/speech';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { SeededRandom } from '../server/core/random.ts';
import { characterErrors } from '../server/core/text/edit-distance.ts';
import { startTestServer } from './helpers/test-server.ts';

const ASR_DIR = path.join(BUNDLED_MODELS_DIR, 'asr');
const SAMPLE_DIR = path.join(ASR_DIR, 'heldout-sample');
const RATE = 16000;
let root: string;
let server: Awaited<ReturnType<typeof startTestServer>>;

const asrManifest = () => JSON.parse(readFileSync(path.join(ASR_DIR, 'manifest.json'), 'utf8')) as Record<string, any>;
const vadGraph = {
  file: 'silero_vad_v5.onnx',
  role: 'vad',
  states: [{ input: 'state', output: 'stateN', batchAxis: 1 }],
  constants: { sr: 16000 },
  warmupShapes: { input: [1, 576] },
};
const vadEndpointing = { mode: 'vad', graph: 'vad', input: 'input', output: 'output', frameSamples: 512, contextSamples: 64, threshold: 0.5, minSilenceMs: 300 };

/** A copy of the bundled asr model under `name` with `edit` applied to its manifest (and the VAD graph beside it). */
function writeRecognizer(name: string, edit: (m: Record<string, any>) => void): void {
  const dir = path.join(root, name);
  mkdirSync(dir);
  for (const f of ['acoustic.onnx', 'alphabet.json', 'lm.arpa']) copyFileSync(path.join(ASR_DIR, f), path.join(dir, f));
  copyFileSync(path.join(BUNDLED_MODELS_DIR, 'silero_vad', 'silero_vad_v5.onnx'), path.join(dir, 'silero_vad_v5.onnx'));
  const manifest: Record<string, any> = { ...asrManifest(), name };
  delete manifest.$schema;
  edit(manifest);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-vad-'));
  writeRecognizer('asr_vad', (m) => {
    m.graphs.vad = vadGraph;
    m.endpointing = vadEndpointing;
  });
  writeRecognizer('asr_blank', () => undefined); // the default: the CTC-blank rule
  writeRecognizer('asr_blank_short', (m) => {
    m.endpointing = { mode: 'ctc-blank', silenceAfterSpeechMs: 400 };
  });
  writeRecognizer('asr_bad', (m) => {
    m.graphs.vad = vadGraph;
    m.endpointing = { ...vadEndpointing, graph: 'silero' };
  });
  writeRecognizer('asr_bad_input', (m) => {
    m.graphs.vad = vadGraph;
    m.endpointing = { ...vadEndpointing, output: 'speech' };
  });
  writeRecognizer('asr_bad_state', (m) => {
    m.graphs.vad = { ...vadGraph, states: [] };
    m.endpointing = vadEndpointing;
  });
  writeRecognizer('asr_bad_frame', (m) => {
    m.graphs.vad = vadGraph;
    m.endpointing = { ...vadEndpointing, frameSamples: 1024 }; // Silero VAD v5 at 16 kHz takes 512
  });
  writeRecognizer('asr_bad_rate', (m) => {
    m.graphs.vad = { ...vadGraph, constants: { sr: 8000 } };
    m.endpointing = vadEndpointing;
  });
  server = await startTestServer({ modelsDir: root });
}, 120_000);
afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** LINEAR16 of a held-out sample; `trim`: without its leading and trailing silence (so a pause after it is as long as the silence added). */
function pcm16(file: string, trim = false): Buffer {
  let samples = decodeWav(readFileSync(path.join(SAMPLE_DIR, file))).samples;
  if (trim) {
    const loud = (v: number) => Math.abs(v) > 0.01;
    samples = samples.subarray(samples.findIndex(loud), samples.findLastIndex(loud) + 1);
  }
  const out = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), i * 2));
  return out;
}
/** A 16 kHz mono WAV file: 16-bit PCM (LINEAR16 bytes), or 32-bit float samples. */
function wavFile(pcm: Buffer, float = false): Buffer {
  const bytes = float ? 4 : 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(float ? 3 : 1, 20); // IEEE float or PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * bytes, 28);
  h.writeUInt16LE(bytes, 32);
  h.writeUInt16LE(bytes * 8, 34);
  h.write('data', 36);
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}
const references = new Map(
  readFileSync(path.join(SAMPLE_DIR, 'transcripts.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; text: string })
    .map((x) => [x.file, x.text]),
);
/**
 * Whether `transcript` is the recognizer's reading of sample `file` and of nothing else: its
 * character error rate against that sentence is at most 0.3 (the recognizer misspells, see the model
 * card; a final that ran on into the next utterance would be over 1), and it is closer to that
 * sentence than to any other sample sentence ("jeff dropped the apple" and "julie dropped the milk"
 * are 0.36 apart).
 */
const heard = (transcript: string, file: string) => {
  const cer = (reference: string) => characterErrors(reference, transcript) / reference.length;
  const own = cer(references.get(file) ?? '');
  return own <= 0.3 && [...references].every(([other, text]) => other === file || cer(text) > own);
};
const silence = (seconds: number) => Buffer.alloc(Math.round(seconds * RATE) * 2);
const seconds = (t: { seconds?: string | number | null; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9;

const googleClient = () => new speech.SpeechClient({ apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: credentials.createInsecure() } as never);

/** Streams LINEAR16 through the official client in messages of `sizes` bytes (cycled); resolves with every response. */
function streamAudio(request: object, audio: Buffer, sizes: number[] = [8000]): Promise<any[]> {
  const client = googleClient();
  const responses: any[] = [];
  return new Promise<any[]>((resolve, reject) => {
    const stream = client
      .streamingRecognize(request as never)
      .on('data', (r: unknown) => responses.push(r))
      .on('error', reject)
      .on('end', () => resolve(responses));
    for (let i = 0, k = 0; i < audio.length; i += sizes[k++ % sizes.length]) stream.write(audio.subarray(i, i + sizes[k % sizes.length]));
    stream.end();
  }).finally(() => void client.close());
}

const config = (model: string) => ({ encoding: 'LINEAR16' as const, sampleRateHertz: RATE, languageCode: 'en-US', model });
const finals = (responses: any[]) => responses.flatMap((r) => r.results ?? []).filter((r) => r.isFinal);

describe('VAD endpointing', () => {
  it('the official client with single_utterance gets END_OF_SINGLE_UTTERANCE at a pause the CTC-blank rule sits through', async () => {
    const first = pcm16('002.wav', true);
    const audio = Buffer.concat([first, silence(0.5), pcm16('003.wav', true), silence(2)]);
    const firstEnds = first.length / 2 / RATE;
    const vad = await streamAudio({ config: config('asr_vad'), singleUtterance: true }, audio);
    const event = vad.find((r) => r.speechEventType === 'END_OF_SINGLE_UTTERANCE');
    expect(event).toBeDefined();
    // in the 0.5 s pause (reported at the end of the 240 ms acoustic chunk it falls in); the second utterance is read and dropped
    const chunk = 3840 / RATE;
    expect(seconds(event.speechEventTime)).toBeLessThanOrEqual(firstEnds + 0.5 + chunk);
    expect(seconds(event.speechEventTime)).toBeGreaterThanOrEqual(firstEnds + 0.3); // minSilenceMs
    expect(finals(vad)).toHaveLength(1);
    expect(heard(finals(vad)[0].alternatives[0].transcript, '002.wav')).toBe(true);
    // the same audio through the CTC-blank rule: no endpoint in the pause, the two utterances run together
    const blank = await streamAudio({ config: config('asr_blank'), singleUtterance: true }, audio);
    const blankEvent = blank.find((r) => r.speechEventType === 'END_OF_SINGLE_UTTERANCE');
    expect(seconds(blankEvent.speechEventTime)).toBeGreaterThan(firstEnds + 0.5 + chunk);
    expect(finals(blank)[0].alternatives[0].transcript.length).toBeGreaterThan(finals(vad)[0].alternatives[0].transcript.length);
    // the CTC-blank rule's silence is the manifest's too: at 400 ms it ends in the pause as well
    const short = await streamAudio({ config: config('asr_blank_short'), singleUtterance: true }, audio);
    const shortEvent = short.find((r) => r.speechEventType === 'END_OF_SINGLE_UTTERANCE');
    expect(seconds(shortEvent.speechEventTime)).toBeLessThanOrEqual(firstEnds + 0.5 + chunk);
    expect(heard(finals(short)[0].alternatives[0].transcript, '002.wav')).toBe(true);
  }, 60_000);

  it('without single_utterance, a long stream is split into finals at the pauses; HTTP transcription splits the same way', async () => {
    const audio = Buffer.concat([silence(0.3), pcm16('001.wav'), silence(0.6), pcm16('004.wav'), silence(0.6), pcm16('007.wav'), silence(1)]);
    const responses = await streamAudio({ config: config('asr_vad'), interimResults: true }, audio);
    const got = finals(responses);
    expect(got).toHaveLength(3);
    expect(got.map((r, i) => heard(r.alternatives[0].transcript, ['001.wav', '004.wav', '007.wav'][i]))).toEqual([true, true, true]);
    const ends = got.map((r) => seconds(r.resultEndTime));
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    // the same WAV through POST /v1/audio/transcriptions: one segment per utterance
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(wavFile(audio))]), 'three.wav');
    form.set('model', 'asr_vad');
    form.set('response_format', 'verbose_json');
    form.set('decoder', 'greedy');
    const res = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { segments: { text: string; end: number }[] };
    expect(body.segments).toHaveLength(3);
    body.segments.forEach((s, i) => expect(s.end).toBeCloseTo(ends[i], 5));
  }, 60_000);

  it('keeps VAD state per stream: concurrent streams give the results each gives alone', async () => {
    const a = Buffer.concat([pcm16('005.wav'), silence(0.6), pcm16('006.wav'), silence(1)]);
    const b = Buffer.concat([silence(0.8), pcm16('008.wav'), silence(0.4), pcm16('009.wav'), silence(1)]);
    const request = { config: config('asr_vad') };
    const summary = (responses: any[]) => finals(responses).map((r) => [r.alternatives[0].transcript, seconds(r.resultEndTime)]);
    const alone = [summary(await streamAudio(request, a, [3200])), summary(await streamAudio(request, b, [4000]))];
    expect(alone[0].length).toBeGreaterThanOrEqual(2);
    const together = await Promise.all([streamAudio(request, a, [3200]), streamAudio(request, b, [4000]), streamAudio(request, a, [1000, 7000])]);
    expect(together.map(summary)).toEqual([alone[0], alone[1], alone[0]]);
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    const batches = Number(/seqserve_batch_size_count\{model="asr_vad\.vad"\} (\d+)/.exec(metrics)?.[1]);
    const frames = Number(/seqserve_batch_size_sum\{model="asr_vad\.vad"\} (\d+)/.exec(metrics)?.[1]);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(frames); // the streams' VAD frames shared runs
  }, 120_000);

  it('survives odd audio: silence only, one-sample messages, a lone sample, full-scale noise, DC, NaN samples', async () => {
    expect(finals(await streamAudio({ config: config('asr_vad'), singleUtterance: true, interimResults: true }, silence(5)))).toEqual([]);
    const tiny = await streamAudio({ config: config('asr_vad'), interimResults: true }, Buffer.concat([pcm16('001.wav'), silence(0.5)]), [2, 4, 6, 2, 10]);
    expect(finals(tiny)).toHaveLength(1);
    expect(heard(finals(tiny)[0].alternatives[0].transcript, '001.wav')).toBe(true);
    expect(await streamAudio({ config: config('asr_vad') }, Buffer.alloc(2))).toEqual([]);
    const random = new SeededRandom(7);
    const noise = Buffer.alloc(RATE * 4);
    for (let i = 0; i < noise.length; i += 2) noise.writeInt16LE(Math.round((random.next() * 2 - 1) * 32767), i);
    const dc = Buffer.alloc(RATE * 2, 0).fill(Buffer.from([0xff, 0x7f]));
    for (const audio of [noise, dc, Buffer.concat([dc, pcm16('001.wav'), noise])]) {
      const responses = await streamAudio({ config: config('asr_vad'), singleUtterance: true, interimResults: true }, audio, [640, 2]);
      expect(finals(responses).length).toBeLessThanOrEqual(1);
    }
    // a float WAV with NaN and infinite samples in its speech: an answer, never a server error
    const speech = decodeWav(readFileSync(path.join(SAMPLE_DIR, '001.wav'))).samples;
    const floats = Buffer.alloc((speech.length + RATE) * 4);
    speech.forEach((v, i) => floats.writeFloatLE(i % 1000 === 0 ? NaN : i % 1777 === 0 ? Infinity : v, i * 4));
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(wavFile(floats, true))]), 'nan.wav');
    form.set('model', 'asr_vad');
    const res = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect([200, 400]).toContain(res.status);
    expect((await fetch(`${server.http}/v2/health/ready`)).status).toBe(200);
  }, 120_000);

  it('refuses a manifest whose endpointing names a missing graph or input, naming the field', async () => {
    const index = (await (await fetch(`${server.http}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
    const byName = Object.fromEntries(index.map((m) => [m.name, m]));
    expect(byName.asr_vad.state).toBe('ready');
    expect(byName.asr_bad).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/asr_bad\/manifest\.json: endpointing\.graph: no graph "silero" \(graphs: acoustic, vad\)/),
    });
    expect(byName.asr_bad_state).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/graphs\.vad: input "state" of the endpointing graph is fed by nothing: declare it under states or constants/),
    });
    expect(byName.asr_bad_input).toMatchObject({ state: 'failed', reason: expect.stringMatching(/endpointing\.output: graph "vad" has no output "speech"/) });
  });

  it("refuses at load a VAD graph that fails on the manifest's frame, or reads another sample rate, naming the field", async () => {
    const index = (await (await fetch(`${server.http}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
    const byName = Object.fromEntries(index.map((m) => [m.name, m]));
    expect(byName.asr_bad_frame).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(
        /endpointing\.frameSamples \/ endpointing\.contextSamples: the endpointing graph "vad" fails on a frame of \[1, 1088\] \(contextSamples 64 \+ frameSamples 1024\)/,
      ),
    });
    expect(byName.asr_bad_rate).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/graphs\.vad\.constants\.sr: the endpointing graph reads audio at 8000 Hz, but audio\.sampleRate is 16000/),
    });
  });
});

describe('VAD endpointing with --executors off', () => {
  it('runs the VAD graph on the main thread the same way: single_utterance ends in the pause', async () => {
    const mainThread = await startTestServer({ modelsDir: root, runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'], executors: false } });
    const client = new speech.SpeechClient({ apiEndpoint: '127.0.0.1', port: mainThread.grpcPort, sslCreds: credentials.createInsecure() } as never);
    try {
      const first = pcm16('002.wav', true);
      const audio = Buffer.concat([first, silence(0.5), pcm16('003.wav', true), silence(2)]);
      const responses: any[] = await new Promise((resolve, reject) => {
        const out: any[] = [];
        const stream = client
          .streamingRecognize({ config: config('asr_vad'), singleUtterance: true } as never)
          .on('data', (r: unknown) => out.push(r))
          .on('error', reject)
          .on('end', () => resolve(out));
        for (let i = 0; i < audio.length; i += 8000) stream.write(audio.subarray(i, i + 8000));
        stream.end();
      });
      const event = responses.find((r) => r.speechEventType === 'END_OF_SINGLE_UTTERANCE');
      expect(seconds(event.speechEventTime)).toBeLessThanOrEqual(first.length / 2 / RATE + 0.5 + 3840 / RATE);
      expect(finals(responses)).toHaveLength(1);
    } finally {
      await client.close();
      await mainThread.close();
    }
  }, 60_000);
});
