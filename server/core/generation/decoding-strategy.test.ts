import { describe, expect, it } from 'vitest';
import { SpelledWordTokenizer } from '../text/spelled-word-tokenizer.ts';
import { BeamSearchStrategy } from './beam-search-strategy.ts';
import { decodingStrategy, type StepRow } from './decoding-strategy.ts';
import type { GenerateRequest, TokenEvent } from './generate-request.ts';
import { SamplingStrategy } from './sampling-strategy.ts';

const VOCAB = ['<pad>', '<s>', '</s>', '<unk>', 'a', 'b', 'c'];
const [BOS, EOS, A, B, C] = [1, 2, 4, 5, 6];
const model = { bos: BOS, eos: EOS, tokenizer: new SpelledWordTokenizer(VOCAB, 3, new Set([0, 1, 2, 3])) };

/** A row of logits from probabilities over the vocabulary. */
const row = (index: number, probs: Record<number, number>, attention?: number[]): StepRow => ({
  index,
  logits: Float32Array.from(VOCAB, (_, t) => Math.log(probs[t] ?? 1e-9)),
  attention: () => attention,
});
const req = (r: Partial<GenerateRequest>): GenerateRequest => ({ source: [A], maxNewTokens: 5, ...r });

describe('decodingStrategy', () => {
  it('is chosen from the request: beam search for beam_width > 1, else sampling', () => {
    expect(decodingStrategy(req({ beamWidth: 3 }), model)).toBeInstanceOf(BeamSearchStrategy);
    expect(decodingStrategy(req({ beamWidth: 1, n: 2 }), model)).toBeInstanceOf(SamplingStrategy);
    expect(decodingStrategy(req({}), model).rows).toBe(1);
    expect(decodingStrategy(req({ beamWidth: 4, n: 2 }), model).rows).toBe(4);
  });
});

describe('SamplingStrategy', () => {
  it('greedy: a token per live choice; EOS and the limit end a choice and free its row', () => {
    const s = new SamplingStrategy(req({ n: 2, maxNewTokens: 2, attention: true }), model);
    expect([s.lastToken(0), s.lastToken(1)]).toEqual([BOS, BOS]);
    const first = s.step([row(1, { [B]: 0.9, [EOS]: 0.1 }, [1, 0]), row(0, { [A]: 0.6, [C]: 0.4 }, [0, 1])]);
    expect(first.events.map((e) => [e.choice, (e as TokenEvent).piece, (e as TokenEvent).attention])).toEqual([
      [1, 'b', [1, 0]],
      [0, 'a', [0, 1]],
    ]);
    expect(first).toMatchObject({ leave: [], done: false });
    expect([s.lastToken(0), s.lastToken(1)]).toEqual([A, B]);
    const second = s.step([row(0, { [EOS]: 0.7, [C]: 0.3 }), row(1, { [C]: 1 })]);
    expect(second.events.map((e) => (e.type === 'finish' ? `${e.choice}:${e.reason}:${e.text}` : `${e.choice}:${e.piece}`))).toEqual(['0:stop:a', '1:c', '1:length:b c']);
    expect(second).toMatchObject({ leave: [0, 1], done: true });
  });

  it('samples from a seed: the same seed gives the same choices', () => {
    const run = () => {
      const s = new SamplingStrategy(req({ n: 3, seed: 5, maxNewTokens: 4, sampling: { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 } }), model);
      const texts: string[] = [];
      for (let i = 0; i < 4; i++) for (const e of s.step([0, 1, 2].map((c) => row(c, { [A]: 0.4, [B]: 0.3, [C]: 0.3 }))).events) if (e.type === 'finish') texts.push(e.text);
      return texts;
    };
    expect(run()).toEqual(run());
    expect(new Set(run()).size).toBeGreaterThan(1);
  });
});

describe('BeamSearchStrategy', () => {
  it('moves states to the beams that continue them, and sends the best beams with their attention and alternatives', () => {
    const s = new BeamSearchStrategy(req({ beamWidth: 2, n: 2, maxNewTokens: 3, attention: true, topLogprobs: 1 }), model);
    // step 1: only beam slot 0 is live (both rows start from the same source)
    const one = s.step([row(0, { [A]: 0.6, [B]: 0.4 }, [1, 0]), row(1, { [C]: 1 }, [9, 9])]);
    expect(one).toMatchObject({ events: [], reorder: { targets: [0, 1], sources: [0, 0] }, done: false });
    expect([s.lastToken(0), s.lastToken(1)]).toEqual([A, B]);
    // step 2: beam "b" (slot 1) is sure of its next token; beam "a" is not
    const two = s.step([row(1, { [C]: 1 }, [0, 1]), row(0, { [A]: 0.5, [C]: 0.5 }, [0.5, 0.5])]);
    expect(two.reorder).toEqual({ targets: [0, 1], sources: [1, 0] }); // "b c" first, then "a a"
    // step 3: both end
    const three = s.step([row(0, { [EOS]: 1 }), row(1, { [EOS]: 1 })]);
    expect(three.done).toBe(true);
    const tokens = three.events.filter((e) => e.type === 'token');
    expect(three.events.filter((e) => e.type === 'finish').map((e) => e.text)).toEqual(['b c', 'a a']);
    expect(tokens.filter((t) => t.choice === 0).map((t) => [t.piece, t.attention, t.top?.[0].piece])).toEqual([
      ['b', [1, 0], 'a'], // chosen from the first row, whose best token was "a"
      ['c', [0, 1], 'c'],
    ]);
    expect(tokens.filter((t) => t.choice === 1).map((t) => t.attention)).toEqual([
      [1, 0],
      [0.5, 0.5],
    ]);
  });
});
