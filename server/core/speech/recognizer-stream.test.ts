import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import type { TensorMap } from '../graph-runner.ts';
import { RecognizerStream, type AcousticModel, type RecognitionEvent } from './recognizer-stream.ts';

const ALPHABET = ['<blank>', ' ', 'a'];
const FRAME = 320;

/**
 * A stand-in acoustic graph: each 320-sample frame (after 240 context samples) is 'a' when loud,
 * blank when quiet; the state counts frames seen. With `lookahead` K it answers as a graph with
 * lookahead does: each chunk's frames K frames late, the K frames still waiting kept in a second
 * state (a label per frame, stored as label - 2, so the zero initial state reads as 'a': a stream
 * that did not drop a stream's first K output frames would hear letters that were never said).
 */
function fakeModel(lookahead = 0): AcousticModel & { steps: number } {
  const model = {
    beam: { width: 8, byDefault: false, hotwordBonus: 1.5 },
    steps: 0,
    audio: { sampleRate: 16000, input: 'samples', chunkSamples: 2560, contextSamples: 240, frameSamples: FRAME, lookaheadFrames: lookahead },
    logProbs: 'log_probs',
    alphabet: ALPHABET,
    blank: 0,
    states: [{ input: 'state_in', output: 'state_out', shape: [1, 1, 1] }, ...(lookahead ? [{ input: 'look_in', output: 'look_out', shape: [1, lookahead] }] : [])],
    step: async (feeds: TensorMap): Promise<TensorMap> => {
      model.steps++;
      const x = feeds.samples.data as Float32Array;
      const frames = (x.length - 240) / FRAME;
      const labels: number[] = lookahead ? [...(feeds.look_in.data as Float32Array)].map((v) => v + 2) : [];
      for (let f = 0; f < frames; f++) {
        let energy = 0;
        for (let i = 0; i < FRAME; i++) energy += Math.abs(x[240 + f * FRAME + i]);
        labels.push(energy / FRAME > 0.1 ? 2 : 0);
      }
      const lp = new Float32Array(frames * 3).fill(Math.log(0.05));
      for (let f = 0; f < frames; f++) lp[f * 3 + labels[f]] = Math.log(0.9);
      const count = (feeds.state_in.data as Float32Array)[0] + frames;
      const out: TensorMap = { log_probs: new Tensor('float32', lp, [1, frames, 3]), state_out: new Tensor('float32', Float32Array.of(count), [1, 1, 1]) };
      if (lookahead)
        out.look_out = new Tensor(
          'float32',
          Float32Array.from(labels.slice(frames), (l) => l - 2),
          [1, lookahead],
        );
      return out;
    },
  };
  return model;
}

function signal(rate: number, parts: [number, number][]): Float32Array {
  const out: number[] = [];
  for (const [seconds, amp] of parts) for (let i = 0; i < Math.round(seconds * rate); i++) out.push(amp * Math.sin((2 * Math.PI * 200 * i) / rate));
  return Float32Array.from(out);
}

describe('RecognizerStream', () => {
  it('chunks, resamples and decodes a stream, ending utterances on trailing silence', async () => {
    const model = fakeModel();
    const rate = 8000;
    const audio = signal(rate, [
      [0.3, 0.5],
      [0.3, 0],
      [0.3, 0.5],
      [1.5, 0],
      [0.3, 0.5],
      [0.2, 0],
    ]);
    const stream = new RecognizerStream(model, { sampleRate: rate });
    const events: RecognitionEvent[] = [];
    for (let i = 0, size = 100; i < audio.length; i += size, size = ((size * 7) % 1900) + 50) events.push(...(await stream.push(audio.slice(i, i + size))));
    events.push(...(await stream.end()));
    const finals = events.filter((e) => e.type === 'final');
    expect(finals.map((e) => e.transcript.text)).toEqual(['aa', 'a']);
    expect(finals[0].transcript.words[0].start).toBeCloseTo(0, 1);
    expect(finals[1].transcript.words[0].start).toBeCloseTo(2.4, 1);
    expect(events.some((e) => e.type === 'partial' && e.transcript.text === 'a')).toBe(true);
    expect(stream.seconds).toBeGreaterThanOrEqual(2.9);
    expect(model.steps).toBe(Math.ceil((2.9 * 16000) / 2560));
  });

  it('decodes a graph with lookahead as one without: its first frames dropped, its last flushed with silence', async () => {
    const rate = 16000;
    // speech up to the very end: the last 'a' is only answered by the flush after the audio
    const audio = signal(rate, [
      [0.2, 0],
      [0.3, 0.5],
      [0.3, 0],
      [0.3, 0.5],
    ]);
    const run = async (model: AcousticModel) => {
      const stream = new RecognizerStream(model, { sampleRate: rate });
      const events: RecognitionEvent[] = [];
      for (let i = 0; i < audio.length; i += 1000) events.push(...(await stream.push(audio.slice(i, i + 1000))));
      events.push(...(await stream.end()));
      return events.filter((e) => e.type === 'final').map((e) => e.transcript);
    };
    const plain = await run(fakeModel());
    expect(plain.map((t) => t.text)).toEqual(['aa']);
    for (const k of [1, 3, 8, 11]) {
      const model = fakeModel(k);
      const late = await run(model);
      expect(late, `lookahead ${k}`).toEqual(plain);
      // the audio's chunks, plus one of silence when the last chunk's padding is shorter than the lookahead
      const frames = Math.ceil(audio.length / FRAME);
      expect(model.steps, `lookahead ${k}`).toBe(Math.ceil((frames + k) / (2560 / FRAME)));
    }
  });
});
