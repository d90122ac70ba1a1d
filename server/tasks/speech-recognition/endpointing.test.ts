/** The manifest's `endpointing` vocabulary: what a speech-recognition manifest may say, and the refusals naming the field. */
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../core/manifest.ts';

const asr = {
  name: 'asr',
  task: 'speech-recognition',
  graphs: {
    acoustic: { file: 'a.onnx', role: 'acoustic', states: [{ input: 'h', output: 'h_out', batchAxis: 1 }] },
    vad: { file: 'silero_vad_v5.onnx', role: 'vad', states: [{ input: 'state', output: 'stateN', batchAxis: 1 }], constants: { sr: 16000 } },
  },
  audio: { sampleRate: 16000, input: 'samples', chunkSamples: 3840, contextSamples: 240, frameSamples: 480 },
  decoding: { kind: 'ctc', logProbs: 'log_probs', alphabet: 'alphabet.json' },
  endpointing: { mode: 'vad', graph: 'vad', input: 'input', output: 'output', frameSamples: 512, contextSamples: 64 },
};
const withEndpointing = (endpointing: object, graphs: object = asr.graphs) => ({ ...asr, graphs, endpointing });

describe('manifest endpointing', () => {
  it('reads a VAD endpointer with Silero-like defaults, and the CTC-blank rule with its own', () => {
    expect(parseManifest(asr).endpointing).toEqual({
      ...asr.endpointing,
      threshold: 0.5,
      minSilenceMs: 500,
      minSpeechMs: 64,
      silenceWithoutSpeechMs: 2400,
      maxUtteranceMs: 20_000,
    });
    const { vad: _, ...acousticOnly } = asr.graphs;
    expect(parseManifest(withEndpointing({ mode: 'ctc-blank', silenceAfterSpeechMs: 800 }, acousticOnly)).endpointing).toEqual({
      mode: 'ctc-blank',
      silenceAfterSpeechMs: 800,
      silenceWithoutSpeechMs: 2400,
      maxUtteranceMs: 20_000,
    });
  });

  it.each([
    [{ ...asr.endpointing, graph: 'silero' }, /endpointing\.graph: no graph "silero" \(graphs: acoustic, vad\)/],
    [{ ...asr.endpointing, graph: 'acoustic' }, /endpointing\.graph: graph "acoustic" has role "acoustic"; the endpointing graph needs role "vad"/],
    [{ ...asr.endpointing, threshold: 1.5 }, /endpointing\.threshold: /],
    [{ ...asr.endpointing, threshold: 0.3, negativeThreshold: 0.6 }, /endpointing\.negativeThreshold: must not be above threshold \(0\.3\)/],
    [{ ...asr.endpointing, minSilence: 300 }, /endpointing\.minSilence: unknown key; did you mean minSilenceMs\?/],
    [{ ...asr.endpointing, frameSamples: 0 }, /endpointing\.frameSamples: /],
    [{ ...asr.endpointing, mode: 'energy' }, /endpointing\.mode: /],
    [{ mode: 'vad', graph: 'vad', input: 'input', output: 'output' }, /endpointing\.frameSamples: /],
    [{ mode: 'ctc-blank', silenceAfterSpeechMs: -1 }, /endpointing\.silenceAfterSpeechMs: /],
  ])('refuses %j naming the field', (endpointing, message) => {
    expect(() => parseManifest(withEndpointing(endpointing))).toThrow(message);
  });

  it('refuses a "vad" graph that no VAD endpointing uses, and the role outside speech recognition', () => {
    expect(() => parseManifest({ ...asr, endpointing: undefined })).toThrow(/graphs\.vad\.role: a "vad" graph is an endpointer: set endpointing/);
    expect(() => parseManifest({ ...asr, task: 'generic', audio: undefined, decoding: undefined, endpointing: undefined })).toThrow(/graphs\.(acoustic|vad)\.role: /);
  });

  it("refuses a VAD graph whose sample-rate constant sr is not the recognizer's audio.sampleRate", () => {
    const graphs = { ...asr.graphs, vad: { ...asr.graphs.vad, constants: { sr: 8000 } } };
    expect(() => parseManifest(withEndpointing(asr.endpointing, graphs))).toThrow(
      /graphs\.vad\.constants\.sr: the endpointing graph reads audio at 8000 Hz, but audio\.sampleRate is 16000/,
    );
    const { constants: _, ...noConstants } = asr.graphs.vad;
    expect(parseManifest(withEndpointing(asr.endpointing, { ...asr.graphs, vad: noConstants })).endpointing).toMatchObject({ mode: 'vad' });
  });

  it('refuses lookahead as long as the VAD silence that ends an utterance (the endpoint would cut frames not yet answered)', () => {
    const look = (lookaheadFrames: number, minSilenceMs?: number) => ({ ...withEndpointing({ ...asr.endpointing, minSilenceMs }), audio: { ...asr.audio, lookaheadFrames } });
    expect(parseManifest(look(4)).audio?.lookaheadFrames).toBe(4); // 120 ms < 500 ms
    expect(() => parseManifest(look(20))).toThrow(/audio\.lookaheadFrames: 20 frames \(600 ms\) must be shorter than endpointing\.minSilenceMs \(500 ms\)/);
    expect(() => parseManifest(look(4, 100))).toThrow(/audio\.lookaheadFrames: 4 frames \(120 ms\)/);
    const { vad: _, ...acousticOnly } = asr.graphs;
    expect(parseManifest({ ...withEndpointing({ mode: 'ctc-blank' }, acousticOnly), audio: { ...asr.audio, lookaheadFrames: 20 } }).audio?.lookaheadFrames).toBe(20);
  });
});
