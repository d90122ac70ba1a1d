import { describe, expect, it } from 'vitest';
import { NgramLm } from '../decode/ngram-lm.ts';
import { CombinedScorer, WordLmScorer } from '../decode/prefix-scorers.ts';
import { TINY_ARPA } from '../decode/scorer-test-fixtures.ts';
import { decodingFor } from './decoding-choice.ts';
import type { AcousticModel } from './recognizer-stream.ts';

const model = {
  alphabet: ['<blank>', ' ', 'a', 'b'],
  beam: { width: 8, byDefault: true, hotwordBonus: 1.5 },
  lm: { model: NgramLm.fromArpa(TINY_ARPA), alpha: 0.5, beta: 1 },
} as unknown as AcousticModel;

describe('decodingFor', () => {
  it('uses the manifest default (beam + LM) for files, greedy for live streams', () => {
    const file = decodingFor(model);
    expect(file.beamWidth).toBe(8);
    expect(file.scorer).toBeInstanceOf(WordLmScorer);
    expect(decodingFor(model, { live: true })).toEqual({ beamWidth: 0 });
  });

  it('runs the beam for live streams that ask for alternatives or hotwords, and obeys an explicit decoder', () => {
    expect(decodingFor(model, { live: true, alternatives: 6 }).beamWidth).toBe(12);
    expect(decodingFor(model, { live: true, hotwords: [{ phrase: 'ab' }] }).scorer).toBeInstanceOf(CombinedScorer);
    expect(decodingFor(model, { live: true, hotwords: [{ phrase: '  ' }] })).toEqual({ beamWidth: 0 });
    expect(decodingFor(model, { decoder: 'greedy', alternatives: 3 })).toEqual({ beamWidth: 0 });
    expect(decodingFor(model, { live: true, decoder: 'beam' }).beamWidth).toBe(8);
  });
});
