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

  it('names every bad field', () => {
    expect(() => parseManifest({ ...good, graphs: { tagger: { role: 'tagger' } } })).toThrow(/graphs\.tagger\.file/);
    expect(() => parseManifest({ ...good, task: 'dance' })).toThrow(/^task:/);
    expect(() => parseManifest({ ...good, graphs: { tagger: { file: '../../etc/passwd', role: 'tagger' } } })).toThrow(/inside the model folder/);
    expect(() => parseManifest({ ...good, decoding: undefined })).toThrow(/decoding: slot-filling models need crf decoding/);
    expect(() => parseManifest({ ...good, name: 'Bad Name' })).toThrow(/^name:/);
  });
});
