/**
 * Silero VAD v5 (third-party, models/silero_vad: manifest only) through the sequence batcher: three
 * recordings with silence around them as three interleaved server-held sequences give the speech
 * probabilities onnxruntime-node gives with a client-held state, frame for frame, the way
 * `@ricky0123/vad-web` runs the model (512 new samples plus the previous frame's last 64).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { resample } from '../server/core/audio/resampler.ts';
import { startTestServer } from './helpers/test-server.ts';

const FRAME = 512;
const CONTEXT = 64;
const VAD_DIR = path.join(BUNDLED_MODELS_DIR, 'silero_vad');
let server: Awaited<ReturnType<typeof startTestServer>>;
let session: ort.InferenceSession;

beforeAll(async () => {
  server = await startTestServer({ modelsDir: VAD_DIR });
  session = await ort.InferenceSession.create(path.join(VAD_DIR, 'silero_vad_v5.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await session?.release();
});

/** A committed ASR sample at 16 kHz with a second of silence before and after. */
function recording(i: number): Float32Array {
  const wav = decodeWav(new Uint8Array(readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', `00${i}.wav`))), 'file');
  const speech = wav.sampleRate === 16000 ? wav.samples : resample(wav.samples, wav.sampleRate, 16000);
  const out = new Float32Array(speech.length + 32000);
  out.set(speech, 16000);
  return out;
}

/** The model's input for frame k: the previous frame's last 64 samples (zeros first), then 512 new ones. */
function frameInput(audio: Float32Array, k: number): Float32Array {
  const x = new Float32Array(CONTEXT + FRAME);
  if (k > 0) x.set(audio.subarray(k * FRAME - CONTEXT, k * FRAME), 0);
  x.set(audio.subarray(k * FRAME, (k + 1) * FRAME), CONTEXT);
  return x;
}

/** Client-held state, as @ricky0123/vad-web runs it. */
async function direct(audio: Float32Array): Promise<number[]> {
  let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
  const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  const probs: number[] = [];
  for (let k = 0; k < Math.floor(audio.length / FRAME); k++) {
    const out = await session.run({ input: new ort.Tensor('float32', frameInput(audio, k), [1, CONTEXT + FRAME]), state, sr });
    probs.push((out.output.data as Float32Array)[0]);
    state = out.stateN as ort.Tensor;
  }
  return probs;
}

describe('Silero VAD through the sequence batcher', () => {
  it('gives the probabilities of a client-held state for three interleaved streams, and tells silence from speech', async () => {
    const audios = [0, 1, 2].map(recording);
    const expected = await Promise.all(audios.map(direct));
    const frames = audios.map((a) => Math.floor(a.length / FRAME));
    const served: number[][] = audios.map(() => []);
    for (let k = 0; k < Math.max(...frames); k++) {
      // the frames of every live stream at once: their steps share batches
      await Promise.all(
        audios.map(async (audio, s) => {
          if (k >= frames[s]) return;
          const res = await fetch(`${server.http}/v2/models/silero_vad/infer`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              parameters: { sequence_id: `stream-${s}`, sequence_start: k === 0, sequence_end: k === frames[s] - 1 },
              inputs: [{ name: 'input', datatype: 'FP32', shape: [1, CONTEXT + FRAME], data: Array.from(frameInput(audio, k)) }],
            }),
          });
          expect(res.status).toBe(200);
          const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
          expect(body.outputs.map((o) => o.name)).toEqual(['output']); // the state stays on the server
          served[s].push(body.outputs[0].data[0]);
        }),
      );
    }
    for (let s = 0; s < audios.length; s++) {
      expect(served[s]).toHaveLength(expected[s].length);
      served[s].forEach((p, k) => expect(p).toBeCloseTo(expected[s][k], 5));
      const silence = served[s].slice(2, Math.floor(16000 / FRAME) - 2);
      expect(Math.max(...silence)).toBeLessThan(0.1);
      expect(Math.max(...served[s])).toBeGreaterThan(0.5);
    }
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    const count = Number(/seqserve_batch_size_count\{model="silero_vad\.vad"\} (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/seqserve_batch_size_sum\{model="silero_vad\.vad"\} (\d+)/.exec(metrics)?.[1]);
    expect(sum).toBe(frames.reduce((a, b) => a + b, 0));
    expect(count).toBeLessThan(sum);
  }, 120_000);

  it('supplies the sample rate itself: a client that sends sr is told it is a constant', async () => {
    const res = await fetch(`${server.http}/v2/models/silero_vad/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        parameters: { sequence_id: 1, sequence_start: true },
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [1, 576], data: new Array(576).fill(0) },
          { name: 'sr', datatype: 'INT64', shape: [], data: [8000] },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/inputs\[1\]\.name: "sr" is a constant of silero_vad\.vad/);
    const meta = (await (await fetch(`${server.http}/v2/models/silero_vad`)).json()) as { parameters: Record<string, string> };
    expect(JSON.parse(meta.parameters.constants)).toEqual({ sr: 16000 });
  });
});
