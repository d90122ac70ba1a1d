import { describe, expect, it } from 'vitest';
import { mergeEvents } from './index.ts';
import { CompletionRequest, completionTaskRequest } from './request.ts';

const parse = (body: object) => completionTaskRequest(CompletionRequest.parse(body), 40);

describe('completionTaskRequest', () => {
  it('is greedy by default, with one prompt field', () => {
    const r = parse({ prompt: 'taipei' });
    expect(r.prompts).toEqual(['taipei']);
    expect(r.fields).toEqual(['prompt']);
    expect(r.generate).toMatchObject({ n: 1, maxNewTokens: 40, sampling: { temperature: 0 }, logProbs: false, topLogprobs: 0, attention: false });
    expect(r.generate.beamWidth).toBeUndefined();
  });

  it('maps best_of (or beam_width) to beam search, n to the n best beams, logprobs to top-k', () => {
    const r = parse({ prompt: ['a', 'b'], best_of: 5, n: 2, logprobs: 3, include_attention: true });
    expect(r.fields).toEqual(['prompt[0]', 'prompt[1]']);
    expect(r.generate).toMatchObject({ beamWidth: 5, lengthPenalty: 1, n: 2, logProbs: true, topLogprobs: 3, attention: true });
    expect(parse({ prompt: 'a', beam_width: 4, length_penalty: 0 }).generate).toMatchObject({ beamWidth: 4, lengthPenalty: 0 });
    expect(parse({ prompt: 'a', best_of: 1 }).generate.beamWidth).toBeUndefined();
  });

  it('refuses what it cannot do, naming the field', () => {
    const field = (body: object) => {
      try {
        parse(body);
      } catch (e) {
        return (e as { field?: string }).field;
      }
      return undefined;
    };
    expect(field({ prompt: 'a', n: 3, best_of: 2 })).toBe('best_of');
    expect(field({ prompt: 'a', best_of: 3, beam_width: 4 })).toBe('best_of');
    expect(field({ prompt: 'a', n: 5, beam_width: 4 })).toBe('n');
    expect(field({ prompt: 'a', suffix: 'x' })).toBe('suffix');
    expect(field({ prompt: 'a', echo: true, logprobs: 1 })).toBe('echo');
    expect(field({ prompt: 'a', max_tokens: 41 })).toBe('max_tokens');
    expect(field({ prompt: 'a', logit_bias: { '5': 1 } })).toBe('logit_bias');
    expect(field({ prompt: 'a', suffix: '', logit_bias: {} })).toBeUndefined();
  });
});

describe('mergeEvents', () => {
  async function* gen(items: string[], delay: number) {
    for (const x of items) {
      await new Promise((r) => setTimeout(r, delay));
      yield x;
    }
  }

  it('interleaves iterators as their events come, each with its index', async () => {
    const got: [number, string][] = [];
    for await (const e of mergeEvents([gen(['a1', 'a2'], 5), gen(['b1'], 1)])) got.push(e);
    expect(got).toContainEqual([1, 'b1']);
    expect(got.filter(([i]) => i === 0).map(([, x]) => x)).toEqual(['a1', 'a2']);
    expect(got[0]).toEqual([1, 'b1']);
  });

  it('ends the others when one fails, and when the reader stops', async () => {
    let ended = 0;
    async function* endless() {
      try {
        for (;;) {
          await new Promise((r) => setTimeout(r, 1));
          yield 'x';
        }
      } finally {
        ended++;
      }
    }
    async function* failing() {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('boom');
    }
    await expect(async () => {
      for await (const _ of mergeEvents([endless(), failing()])) void _;
    }).rejects.toThrow('boom');
    for await (const _ of mergeEvents([endless(), endless()])) break;
    await new Promise((r) => setTimeout(r, 10));
    expect(ended).toBe(3);
  });
});
