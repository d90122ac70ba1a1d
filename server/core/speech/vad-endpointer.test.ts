import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tensor } from 'onnxruntime-common';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../../config.ts';
import { BatchScheduler } from '../batching/batch-scheduler.ts';
import { decodeWav } from '../audio/decode-wav.ts';
import { resample } from '../audio/resampler.ts';
import type { TensorMap } from '../graph-runner.ts';
import { VadEndpointer, type VadModel } from './vad-endpointer.ts';

const RATE = 16000;
const base = {
  input: 'input',
  output: 'output',
  frameSamples: 512,
  contextSamples: 64,
  sampleRate: RATE,
  threshold: 0.5,
  negativeThreshold: 0.35,
  minSilenceMs: 320, // 10 frames
  minSpeechMs: 96, // 3 frames
  silenceWithoutSpeech: 2.4,
  maxUtterance: 20,
};

/** A VAD whose probabilities are a script, one per frame; it records the frames it was fed. */
function scripted(probabilities: number[]): VadModel & { fed: Float32Array[] } {
  const fed: Float32Array[] = [];
  let k = 0;
  return {
    ...base,
    states: [],
    fed,
    step: (feeds) => {
      fed.push(feeds.input.data as Float32Array);
      const p = probabilities[k++] ?? 0;
      return Promise.resolve({ output: new Tensor('float32', Float32Array.from([p]), [1, 1]) });
    },
  };
}

/** Pushes `frames` frames of audio one frame at a time and returns the frame after which the endpoint fired, or -1. */
async function endpointFrame(vad: VadEndpointer, frames: number): Promise<number> {
  for (let k = 0; k < frames; k++) {
    await vad.push(new Float32Array(512));
    if (vad.endpoint()) return k;
  }
  return -1;
}

describe('VadEndpointer rules (scripted probabilities)', () => {
  it('ends an utterance minSilenceMs after counted speech, not before', async () => {
    const vad = new VadEndpointer(scripted([0, 0, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]));
    // speech in frames 2-5, silence from frame 6: 10 silent frames end it after frame 15
    expect(await endpointFrame(vad, 18)).toBe(15);
    expect(vad.heardSpeech).toBe(true);
  });

  it('ignores a run of speech shorter than minSpeechMs and frames between the thresholds keep the speech going', async () => {
    // a 2-frame click, then silence: not speech, so only silenceWithoutSpeech (75 frames) ends it
    const click = new VadEndpointer(scripted([0.9, 0.9, ...new Array<number>(100).fill(0)]));
    expect(await endpointFrame(click, 100)).toBe(Math.ceil((2.4 * RATE) / 512) - 1);
    expect(click.heardSpeech).toBe(false);
    // the same empty utterance while the recognizer decoded a letter 0.5 s ago (a soft onset the VAD has not called speech yet): not cut
    expect(click.endpoint(0.5)).toBe(false);
    expect(click.endpoint(2.4)).toBe(true);
    // speech, then 20 frames at 0.4 (between negativeThreshold and threshold): still speech until the 0.1s start
    const hold = new VadEndpointer(scripted([0.9, 0.9, 0.9, ...new Array<number>(20).fill(0.4), ...new Array<number>(20).fill(0.1)]));
    expect(await endpointFrame(hold, 43)).toBe(3 + 20 + 9);
  });

  it('a pause shorter than minSilenceMs does not end the utterance; the next utterance starts fresh', async () => {
    const probs = [0.9, 0.9, 0.9, ...new Array<number>(8).fill(0.1), 0.9, 0.9, 0.9, ...new Array<number>(10).fill(0.1), ...new Array<number>(5).fill(0.1)];
    const vad = new VadEndpointer(scripted(probs));
    expect(await endpointFrame(vad, probs.length)).toBe(3 + 8 + 3 + 9);
    vad.nextUtterance();
    expect(vad.heardSpeech).toBe(false);
    expect(vad.endpoint()).toBe(false);
  });

  it('remembers a pause that reached minSilenceMs between two asks, though speech resumed before the second', async () => {
    const vad = new VadEndpointer(scripted([0.9, 0.9, 0.9, ...new Array<number>(10).fill(0.1), ...new Array<number>(8).fill(0.9)]));
    await vad.push(new Float32Array(512 * 17)); // one push: the pause and the speech after it
    expect(vad.endpoint()).toBe(true);
    vad.nextUtterance();
    expect(vad.endpoint()).toBe(false);
    await vad.push(new Float32Array(512 * 3)); // the resumed speech counts for the next utterance (3 frames: minSpeechMs)
    expect(vad.heardSpeech).toBe(true);
  });

  it('ends a long utterance at maxUtterance and feeds each frame with the last contextSamples of the one before', async () => {
    const model = { ...scripted(new Array<number>(100).fill(0.9)), maxUtterance: 1 };
    const vad = new VadEndpointer(model);
    const audio = Float32Array.from({ length: 512 * 40 }, (_, i) => i);
    // odd chunk sizes: frames are whole 512-sample frames whatever the pushes
    for (let i = 0; i < audio.length; i += 777) await vad.push(audio.subarray(i, i + 777));
    expect(model.fed).toHaveLength(40);
    expect(Array.from(model.fed[0].subarray(0, 64))).toEqual(new Array<number>(64).fill(0));
    expect(Array.from(model.fed[3])).toEqual(Array.from(audio.subarray(3 * 512 - 64, 4 * 512)));
    expect(vad.endpoint()).toBe(true); // 40 frames = 1.28 s > 1 s
  });
});

describe('VadEndpointer over Silero VAD v5', () => {
  const file = path.join(BUNDLED_MODELS_DIR, 'silero_vad', 'silero_vad_v5.onnx');
  let session: ort.InferenceSession;
  const sr = new Tensor('int64', BigInt64Array.from([16000n]), []);
  beforeAll(async () => {
    session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  });
  afterAll(async () => session?.release());

  function recording(i: number): Float32Array {
    const wav = decodeWav(new Uint8Array(readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', `00${i}.wav`))), 'file');
    const speech = wav.sampleRate === RATE ? wav.samples : resample(wav.samples, wav.sampleRate, RATE);
    const out = new Float32Array(speech.length + 2 * RATE); // a second of silence before and after
    out.set(speech, RATE);
    return out;
  }

  /** The graph run directly with a client-held state over the same frames. */
  async function direct(audio: Float32Array): Promise<number[]> {
    let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
    const probs: number[] = [];
    for (let k = 0; k < Math.floor(audio.length / 512); k++) {
      const x = new Float32Array(576);
      if (k > 0) x.set(audio.subarray(k * 512 - 64, k * 512));
      x.set(audio.subarray(k * 512, (k + 1) * 512), 64);
      const out = await session.run({ input: new ort.Tensor('float32', x, [1, 576]), state, sr });
      probs.push((out.output.data as Float32Array)[0]);
      state = out.stateN as ort.Tensor;
    }
    return probs;
  }

  it('keeps a state per stream: two interleaved streams sharing batched runs give the probabilities of the graph run alone on each', async () => {
    const runner = { inputNames: session.inputNames, outputNames: session.outputNames, run: async (feeds: TensorMap) => (await session.run({ ...feeds, sr })) as TensorMap };
    const batches: number[] = [];
    const scheduler = new BatchScheduler(runner, { batchAxes: { input: 0, output: 0, state: 1, stateN: 1 }, maxBatch: 8, onRun: (n) => batches.push(n) });
    const model: VadModel = { ...base, states: [{ input: 'state', output: 'stateN', shape: [2, 1, 128] }], step: (feeds) => scheduler.submit(feeds) };
    const audios = [recording(0), recording(1)];
    const got: number[][] = [[], []];
    const vads = audios.map((_, s) => new VadEndpointer(model, (p) => got[s].push(p)));
    const sizes = [1600, 3840]; // different chunk sizes: the streams' frames fall at different pushes
    const offsets = [0, 0];
    while (offsets.some((o, s) => o < audios[s].length)) {
      await Promise.all(
        vads.map(async (vad, s) => {
          if (offsets[s] >= audios[s].length) return;
          await vad.push(audios[s].subarray(offsets[s], offsets[s] + sizes[s]));
          offsets[s] += sizes[s];
        }),
      );
    }
    for (let s = 0; s < 2; s++) {
      const expected = await direct(audios[s]);
      expect(got[s]).toHaveLength(expected.length);
      got[s].forEach((p, k) => expect(p).toBeCloseTo(expected[k], 5));
      expect(Math.max(...got[s].slice(2, 25))).toBeLessThan(0.1); // the leading second is silence
      expect(Math.max(...got[s])).toBeGreaterThan(0.9);
      expect(vads[s].heardSpeech).toBe(true);
      expect(vads[s].endpoint()).toBe(true); // a second of silence after the speech
    }
    expect(Math.max(...batches)).toBe(2); // the two streams' frames did share runs
  }, 60_000);
});
