import { describe, expect, it } from 'vitest';
import { NgramLm } from '../decode/ngram-lm.ts';
import { CombinedScorer, type PrefixScorer, WordLmScorer } from '../decode/prefix-scorers.ts';
import { scoreAll, TINY_ARPA } from '../decode/scorer-test-fixtures.ts';
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

  it("caps a live stream's beam at liveWidth, not a file's", () => {
    const wide = { ...model, beam: { ...model.beam, width: 64, liveWidth: 16 } } as AcousticModel;
    expect(decodingFor(wide).beamWidth).toBe(64);
    expect(decodingFor(wide, { live: true, hotwords: [{ phrase: 'ab' }] }).beamWidth).toBe(16);
    expect(decodingFor(wide, { live: true, alternatives: 10 }).beamWidth).toBe(20); // alternatives still get twice their count
  });

  it("spares a hotword the LM's out-of-vocabulary penalty while it is spelled", () => {
    const lexicon = { ...model, lm: { ...model.lm!, lookahead: true, oovPenalty: 5 } } as AcousticModel;
    const ab = [2, 3]; // "ab": not a word of the LM ("a" and "b" are)
    const partial = (scorer: PrefixScorer | undefined) => {
      const s = scorer!;
      const first = s.extend(s.initial(), ab[0]);
      return first.score + s.extend(first.state, ab[1]).score;
    };
    const alone = partial(decodingFor(lexicon).scorer);
    const hot = decodingFor(lexicon, { hotwords: [{ phrase: 'AB' }] }).scorer!;
    const hotwordOnly = decodingFor({ ...model, lm: undefined } as unknown as AcousticModel, { hotwords: [{ phrase: 'AB' }] }).scorer;
    expect(alone).toBeLessThan(-4); // the penalty
    expect(partial(hot) - partial(hotwordOnly)).toBeCloseTo(alone + 5, 10); // the LM part of it without the penalty
    expect(scoreAll(hot, ab)).toBeCloseTo(scoreAll(decodingFor(model, { hotwords: [{ phrase: 'AB' }] }).scorer!, ab), 10);
  });
});
