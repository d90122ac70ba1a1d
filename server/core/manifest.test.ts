import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.ts';

const good = {
  name: 'slots',
  task: 'slot-filling',
  graphs: { tagger: { file: 'tagger.onnx', role: 'tagger' } },
  text: { tokenizer: 'word', vocabulary: 'vocab.json', features: { words: 'word_ids' } },
  decoding: { kind: 'crf', emissions: 'emissions', transitions: 'crf.json' },
};

describe('manifest', () => {
  it('accepts a valid manifest and fills defaults', () => {
    const m = parseManifest(good);
    expect(m.version).toBe('1');
    expect(m.graphs.tagger.states).toEqual([]);
    expect(m.text?.maxTokens).toBe(256);
  });

  it('accepts recurrent state pairs with their batch axes', () => {
    const m = parseManifest({ ...good, task: 'generic', graphs: { step: { file: 's.onnx', role: 'decoder_step', states: [{ input: 'h_in', output: 'h_out', batchAxis: 1 }] } } });
    expect(m.graphs.step.states[0]).toEqual({ input: 'h_in', output: 'h_out', batchAxis: 1 });
  });

  it('accepts a streaming speech recognizer and checks its chunk size', () => {
    const asr = {
      name: 'asr',
      task: 'speech-recognition',
      graphs: { acoustic: { file: 'a.onnx', role: 'acoustic', states: [{ input: 'state_in', output: 'state_out', batchAxis: 1 }] } },
      audio: { sampleRate: 16000, input: 'samples', chunkSamples: 5120, contextSamples: 240, frameSamples: 320 },
      decoding: { kind: 'ctc', logProbs: 'log_probs', alphabet: 'alphabet.json' },
    };
    expect(parseManifest(asr).decoding).toEqual({ kind: 'ctc', logProbs: 'log_probs', alphabet: 'alphabet.json', blank: 0 });
    expect(() => parseManifest({ ...asr, audio: { ...asr.audio, chunkSamples: 5000 } })).toThrow(/audio\.chunkSamples: must be a whole number of frames/);
    expect(() => parseManifest({ ...asr, decoding: undefined })).toThrow(/decoding: speech-recognition models need ctc decoding/);
  });

  it('names every bad field', () => {
    expect(() => parseManifest({ ...good, graphs: { tagger: { role: 'tagger' } } })).toThrow(/graphs\.tagger\.file/);
    expect(() => parseManifest({ ...good, task: 'dance' })).toThrow(/^task:/);
    expect(() => parseManifest({ ...good, graphs: { tagger: { file: '../../etc/passwd', role: 'tagger' } } })).toThrow(/inside the model folder/);
    expect(() => parseManifest({ ...good, decoding: undefined })).toThrow(/decoding: slot-filling models need crf decoding/);
    expect(() => parseManifest({ ...good, name: 'Bad Name' })).toThrow(/^name:/);
  });
});
