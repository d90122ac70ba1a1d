/**
 * A recognizer whose acoustic graph reads ahead (manifest `audio.lookaheadFrames`): the server drops
 * each stream's first output frames and flushes its end with silence, so a file, a Google
 * streaming call in small messages and the graph run once over the whole utterance all give the same
 * transcript. The model is a test fixture (test/fixtures/make_lookahead_recognizer.py: the bundled
 * recognizer grown by the asr recipe with 3 frames of lookahead, the lookahead map random).
 */
import { credentials } from '@grpc/grpc-js';
import speech from '@google-cloud/speech';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { ctcGreedy } from '../server/core/decode/ctc.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { wholeUtterance } from '../server/core/speech/recognizer-stream.ts';
import { wav } from './helpers/contract-http.ts';
import { startTestServer } from './helpers/test-server.ts';

const ROOT = path.join(import.meta.dirname, '..');
const SAMPLE_DIR = path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample');
const sample = readFileSync(path.join(SAMPLE_DIR, 'transcripts.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .slice(0, 3)
  .map((l) => JSON.parse(l) as { file: string; greedy: string });

let dir: string;
let model: string;
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seqserve-lookahead-'));
  model = path.join(dir, 'asr'); // the recipe's manifest names it asr
  execFileSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fixtures', 'make_lookahead_recognizer.py'), model], {
    stdio: 'ignore',
    env: { ...process.env, PYTHONPATH: [path.join(ROOT, 'models'), path.join(ROOT, 'models', 'asr', 'recipe')].join(path.delimiter) },
  });
  server = await startTestServer({ modelsDir: dir });
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The graph run once over the whole utterance (laid out as a stream sees it: wholeUtterance), greedy. */
async function wholeUtteranceText(audio: Float32Array): Promise<string> {
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(model, 'manifest.json'), 'utf8')));
  const alphabet = JSON.parse(readFileSync(path.join(model, 'alphabet.json'), 'utf8')) as string[];
  expect(manifest.audio?.lookaheadFrames).toBe(3);
  const { samples, frames, skipFrames } = wholeUtterance(audio, manifest.audio!);
  const session = await ort.InferenceSession.create(path.join(model, 'acoustic.onnx'));
  try {
    const out = await session.run({
      samples: new ort.Tensor('float32', samples, [1, samples.length]),
      state_in: new ort.Tensor('float32', new Float32Array(2 * 256), [2, 1, 256]),
      look_in: new ort.Tensor('float32', new Float32Array(skipFrames * 256), [1, skipFrames, 256]),
    });
    const V = alphabet.length;
    const text = ctcGreedy((out.log_probs.data as Float32Array).subarray(skipFrames * V), frames, V, 0)
      .tokens.map((t) => alphabet[t])
      .join('');
    return text.split(' ').filter(Boolean).join(' ');
  } finally {
    await session.release();
  }
}

/**
 * The utterance from its first loud sample, cut to whole chunks (3,840 samples) before its trailing
 * silence: a stream's first frames carry speech, and its last chunk has no padding, so the last
 * frames are answered only by the flush after the audio.
 */
function speechOnly(samples: Float32Array): Float32Array {
  const loud = (x: number) => Math.abs(x) > 0.02;
  const first = samples.findIndex(loud);
  const last = samples.findLastIndex(loud);
  return samples.slice(first, first + Math.floor((last + 1 - first) / 3840) * 3840);
}

/** A time in ms, from Google's {seconds, nanos} or seconds. */
const ms = (t: { seconds?: string | number; nanos?: number } | number | undefined) =>
  Math.round(typeof t === 'number' ? t * 1000 : (Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9) * 1000);

describe('a recognizer with lookahead (audio.lookaheadFrames)', () => {
  it('gives the whole-utterance transcript, with the same word times, through /v1/audio/transcriptions and a Google stream of small messages', async () => {
    const client = new speech.SpeechClient({ apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: credentials.createInsecure() } as never);
    try {
      for (const item of sample) {
        const bytes = wav(speechOnly(decodeWav(readFileSync(path.join(SAMPLE_DIR, item.file))).samples));
        const expected = await wholeUtteranceText(decodeWav(bytes).samples);
        // the fixture still recognises speech: most of the bundled recognizer's letters survive the random map
        expect(expected.length).toBeGreaterThan(item.greedy.length / 2);

        const form = new FormData();
        form.append('file', new Blob([bytes], { type: 'audio/wav' }), item.file);
        form.append('model', 'asr');
        form.append('response_format', 'verbose_json');
        const res = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form });
        expect(res.status).toBe(200);
        const file = (await res.json()) as { text: string; words: { word: string; start: number; end: number }[] };
        expect(file.text).toBe(expected);

        const pcm = bytes.subarray(44);
        const responses: any[] = await new Promise((resolve, reject) => {
          const got: unknown[] = [];
          const config = { encoding: 'LINEAR16', sampleRateHertz: 16000, languageCode: 'en-US', model: 'asr', enableWordTimeOffsets: true };
          const stream = client
            .streamingRecognize({ config } as never)
            .on('data', (r: unknown) => got.push(r))
            .on('error', reject)
            .on('end', () => resolve(got));
          for (let i = 0; i < pcm.length; i += 1000) stream.write(pcm.subarray(i, i + 1000));
          stream.end();
        });
        const finals = responses.flatMap((r) => r.results).filter((r) => r.isFinal);
        expect(finals.map((r) => r.alternatives[0].transcript).join(' ')).toBe(expected);
        const streamed = finals.flatMap((r) => r.alternatives[0].words as { word: string; startTime: object; endTime: object }[]);
        expect(streamed.map((w) => [w.word, ms(w.startTime), ms(w.endTime)])).toEqual(file.words.map((w) => [w.word, ms(w.start), ms(w.end)]));
      }
    } finally {
      await client.close();
    }
  }, 60_000);
});
