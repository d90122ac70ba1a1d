import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { SpelledWordTokenizer } from '../text/spelled-word-tokenizer.ts';
import { GenerationEngine, type GenerationEvent } from './generation-engine.ts';
import type { Seq2SeqModel } from './seq2seq-model.ts';

const VOCAB = ['<pad>', '<s>', '</s>', '<unk>', '<user>', '<assistant>', 'a', 'b', 'c', 'd', 'e', '.'];
const EOS = 2;

/**
 * A fake copy model: the encoder passes token ids through as memory; the decoder's state counts
 * steps and its logits point (strongly) at the source token at that position, then at EOS.
 */
function copyModel(calls: { encoder: number[]; decoder: number[] }, stepDelayMs = 0, encoderGate?: (B: number) => Promise<void>): Seq2SeqModel {
  const encoder: GraphRunner = {
    inputNames: ['src'],
    outputNames: ['memory', 'mask', 'h0'],
    async run(feeds: TensorMap) {
      const [B, S] = feeds.src.dims;
      calls.encoder.push(B);
      if (encoderGate) await encoderGate(B);
      const ids = feeds.src.data as BigInt64Array;
      const memory = Float32Array.from(ids, Number);
      const mask = Float32Array.from(ids, (x) => (x === 0n ? 0 : 1));
      return { memory: new Tensor('float32', memory, [B, S, 1]), mask: new Tensor('float32', mask, [B, S]), h0: new Tensor('float32', new Float32Array(B), [1, B, 1]) };
    },
  };
  const decoder: GraphRunner = {
    inputNames: ['prev', 'h_in', 'memory', 'mask'],
    outputNames: ['logits', 'h_out', 'attention'],
    async run(feeds: TensorMap) {
      const B = feeds.prev.dims[0];
      const S = feeds.memory.dims[1];
      calls.decoder.push(B);
      if (stepDelayMs) await new Promise((r) => setTimeout(r, stepDelayMs));
      const h = feeds.h_in.data as Float32Array;
      const memory = feeds.memory.data as Float32Array;
      const mask = feeds.mask.data as Float32Array;
      const logits = new Float32Array(B * VOCAB.length).fill(-5);
      const attention = new Float32Array(B * S);
      for (let b = 0; b < B; b++) {
        let len = 0;
        for (let s = 0; s < S; s++) len += mask[b * S + s];
        const pos = h[b];
        const next = pos < len ? memory[b * S + pos] : EOS;
        logits[b * VOCAB.length + next] = 5;
        logits[b * VOCAB.length + 6] = 4; // a runner-up, so sampling has a choice
        if (pos < len) attention[b * S + pos] = 1;
      }
      return {
        logits: new Tensor('float32', logits, [B, VOCAB.length]),
        h_out: new Tensor(
          'float32',
          Float32Array.from(h, (x) => x + 1),
          [1, B, 1],
        ),
        attention: new Tensor('float32', attention, [B, S]),
      };
    },
  };
  return {
    spec: {
      vocab: 'vocab.json',
      tokenizer: 'spelled-words',
      bos: 1,
      eos: EOS,
      pad: 0,
      unk: 3,
      maxSourceTokens: 16,
      maxNewTokens: 32,
      encoder: { input: 'src', memory: ['memory', 'mask'], initialStates: { h_in: 'h0' } },
      decoder: { prevToken: 'prev', logits: 'logits', attention: 'attention' },
    },
    tokenizer: new SpelledWordTokenizer(VOCAB, 3, new Set([0, 1, 2, 3, 4, 5])),
    encoder,
    decoder,
    states: { h_in: { output: 'h_out', batchAxis: 1 } },
  };
}

async function collect(it: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const ids = (s: string) => s.split(' ').map((w) => VOCAB.indexOf(w));

describe('GenerationEngine', () => {
  it('decodes greedily, streaming tokens with text deltas, log-probabilities and attention', async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8 });
    const events = await collect(engine.generate({ source: ids('a b c .'), maxNewTokens: 10, attention: true, topLogprobs: 2 }));
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.map((e) => e.piece)).toEqual(['a', 'b', 'c', '.']);
    expect(tokens.map((e) => e.delta).join('')).toBe('a b c.');
    expect(tokens[1].attention).toEqual([0, 1, 0, 0]);
    expect(tokens[1].top).toHaveLength(2);
    expect(tokens[1].top?.[0]).toMatchObject({ piece: 'b', logProb: tokens[1].logProb });
    expect(tokens[0].logProb).toBeLessThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop', text: 'a b c.', tokens: 4 });
    expect(engine.activeSequences).toBe(0);
    // a request that does not want log-probabilities gets the same tokens without them
    const plain = (await collect(engine.generate({ source: ids('a b c .'), maxNewTokens: 10, logProbs: false }))).filter((e) => e.type === 'token');
    expect(plain.map((e) => e.piece)).toEqual(['a', 'b', 'c', '.']);
    expect(plain.every((e) => Number.isNaN(e.logProb))).toBe(true);
  });

  it('batches the encoder runs and decoder steps of concurrent requests of different lengths', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    const engine = new GenerationEngine(copyModel(calls), { maxRows: 64, maxWaiting: 64 });
    const sources = ['a', 'b c', 'd e a b', 'c c c c c c', 'e'];
    const results = await Promise.all(sources.map((s) => collect(engine.generate({ source: ids(s), maxNewTokens: 10 }))));
    results.forEach((events, i) => expect((events.at(-1) as { text: string }).text).toBe(sources[i]));
    expect(calls.encoder).toEqual([5]);
    expect(calls.decoder[0]).toBe(5); // every sequence in the first step
    expect(calls.decoder.length).toBe(7); // the longest reply (6 tokens + EOS), not the sum
  });

  it('lets sequences join a running batch between iterations', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    const engine = new GenerationEngine(copyModel(calls, 2), { maxRows: 64, maxWaiting: 64 });
    const first = engine.generate({ source: ids('a a a a a a a a'), maxNewTokens: 20 });
    const firstDone = collect(first);
    await new Promise((r) => setTimeout(r, 5));
    const second = await collect(engine.generate({ source: ids('b b'), maxNewTokens: 20 }));
    expect((second.at(-1) as { text: string }).text).toBe('b b');
    expect((await firstDone).filter((e) => e.type === 'token')).toHaveLength(8);
    expect(calls.encoder.length).toBe(2);
    expect(Math.max(...calls.decoder)).toBe(2);
  });

  it('keeps decoding the batch while an encoder run is in flight', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    let stepsDuringEncode = -1;
    // the second request's encoder run ends only after the batch has stepped 3 times (or 500 ms)
    const gate = async () => {
      if (calls.encoder.length < 2) return;
      const from = calls.decoder.length;
      const deadline = Date.now() + 500;
      while (calls.decoder.length - from < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      stepsDuringEncode = calls.decoder.length - from;
    };
    const engine = new GenerationEngine(copyModel(calls, 1, gate), { maxRows: 64, maxWaiting: 64 });
    const first = collect(engine.generate({ source: ids('a a a a a a a a a a a a'), maxNewTokens: 20 }));
    await new Promise((r) => setTimeout(r, 5));
    const second = await collect(engine.generate({ source: ids('b b'), maxNewTokens: 20 }));
    expect((second.at(-1) as { text: string }).text).toBe('b b');
    expect((await first).filter((e) => e.type === 'token')).toHaveLength(12);
    expect(stepsDuringEncode).toBe(3);
  });

  it('under load, newcomers share an encoder run, waiting at most admitWait iterations', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    const late: Promise<GenerationEvent[]>[] = [];
    let iterations = 0;
    const engine: GenerationEngine = new GenerationEngine(copyModel(calls), {
      maxRows: 64,
      maxWaiting: 64,
      admitWait: 3,
      onIteration: () => {
        iterations++;
        if (iterations === 2 || iterations === 3) late.push(collect(engine.generate({ source: ids('b b'), maxNewTokens: 20 })));
        if (iterations === 8) late.push(collect(engine.generate({ source: ids('c'), maxNewTokens: 20 })));
      },
    });
    const busy = Array.from({ length: 16 }, () => collect(engine.generate({ source: ids('a a a a a a a a a a a a'), maxNewTokens: 20 })));
    await Promise.all(busy);
    const texts = (await Promise.all(late)).map((events) => (events.at(-1) as { text: string }).text);
    expect(texts).toEqual(['b b', 'b b', 'c']);
    // 16 busy rows: the two that came after iterations 2 and 3 were encoded together (16 / 8 = 2 waiting)
    // while iteration 4 ran, and joined in iteration 5; the lone one that came after iteration 8 waited
    // 3 iterations, was encoded during iteration 12 and joined in iteration 13
    expect(calls.encoder).toEqual([16, 2, 1]);
    expect(calls.decoder.slice(0, 5)).toEqual([16, 16, 16, 16, 18]);
    expect(calls.decoder.indexOf(17)).toBe(12);
  });

  it('stops at max tokens (length) and at stop strings (not emitted)', async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8 });
    const a = await collect(engine.generate({ source: ids('a b c d e'), maxNewTokens: 2 }));
    expect(a.at(-1)).toMatchObject({ reason: 'length', text: 'a b', tokens: 2 });
    const b = await collect(engine.generate({ source: ids('a b c d e'), maxNewTokens: 10, stop: ['c d'] }));
    expect(b.at(-1)).toMatchObject({ reason: 'stop', text: 'a b ' });
    expect(b.map((e) => e.delta).join('')).toBe('a b ');
  });

  it('samples n choices reproducibly from a seed', async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8 });
    const run = async (seed: number) => {
      const events = await collect(
        engine.generate({ source: ids('b c d e b c d e'), maxNewTokens: 10, n: 3, seed, sampling: { temperature: 1.5, topK: 0, topP: 1, repetitionPenalty: 1 } }),
      );
      return [0, 1, 2].map((c) => (events.find((e) => e.type === 'finish' && e.choice === c) as { text: string }).text);
    };
    const x = await run(42);
    expect(await run(42)).toEqual(x);
    expect(new Set(x).size).toBeGreaterThan(1);
  });

  it('beam search returns the n best complete sequences', async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8 });
    const events = await collect(engine.generate({ source: ids('b c d'), maxNewTokens: 10, beamWidth: 3, n: 2 }));
    const finals = events.filter((e) => e.type === 'finish') as { choice: number; text: string }[];
    expect(finals.map((f) => f.text)).toEqual(['b c d', expect.any(String)]);
    expect(finals[1].text).not.toBe('b c d');
    expect(engine.activeSequences).toBe(0);
  });

  it("beam search keeps each token's attention row and top log-probabilities on the chosen beams", async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8 });
    const events = await collect(engine.generate({ source: ids('b c d'), maxNewTokens: 10, beamWidth: 3, n: 2, attention: true, topLogprobs: 2 }));
    const tokens = events.filter((e) => e.type === 'token');
    for (const choice of [0, 1]) {
      const mine = tokens.filter((t) => t.choice === choice);
      expect(mine.length).toBeGreaterThan(0);
      // the fake decoder attends to the source position of its step, whichever token the beam took
      mine.forEach((t, i) => expect(t.attention).toEqual([0, 1, 2].map((s) => (s === i ? 1 : 0))));
      for (const t of mine) {
        expect(t.top).toHaveLength(2);
        expect(t.top!.some((alt) => alt.token === t.token && alt.logProb === t.logProb && alt.piece === t.piece)).toBe(true);
      }
    }
    // the best beam took the most likely token at each step: its first alternative
    expect(tokens.filter((t) => t.choice === 0).map((t) => t.top![0].piece)).toEqual(['b', 'c', 'd']);
    // without asking, beams carry neither
    const plain = (await collect(engine.generate({ source: ids('b c d'), maxNewTokens: 10, beamWidth: 3 }))).filter((e) => e.type === 'token');
    expect(plain.every((t) => t.attention === undefined && t.top === undefined)).toBe(true);
  });

  it('frees a cancelled request before the next iteration, and an aborted signal ends the iterator', async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8 });
    const it = engine.generate({ source: ids('a a a a a a a a a a a a'), maxNewTokens: 30 });
    await it.next();
    expect(engine.activeSequences).toBe(1);
    await it.return!();
    await new Promise((r) => setTimeout(r, 5));
    expect(engine.activeSequences).toBe(0);
    const abort = new AbortController();
    const it2 = engine.generate({ source: ids('b b b b b b'), maxNewTokens: 30, signal: abort.signal });
    await it2.next();
    abort.abort();
    await expect(collect(it2)).rejects.toMatchObject({ code: 'cancelled' });
    expect(engine.activeSequences).toBe(0);
  });

  it('parks a request whose consumer stops reading, and resumes it intact', async () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 8, maxWaiting: 8, highWater: 3 });
    const slow = engine.generate({ source: ids('a b c d e a b c d e'), maxNewTokens: 20 });
    const fast = await collect(engine.generate({ source: ids('e e e e e e e e'), maxNewTokens: 20 }));
    expect(fast.filter((e) => e.type === 'token')).toHaveLength(8);
    expect(engine.activeSequences).toBe(0); // the slow one is parked, not decoding
    const rest = await collect(slow);
    expect((rest.at(-1) as { text: string }).text).toBe('a b c d e a b c d e');
  });

  it('refuses empty and too-long prompts and a full waiting list', () => {
    const engine = new GenerationEngine(copyModel({ encoder: [], decoder: [] }), { maxRows: 1, maxWaiting: 1 });
    expect(() => engine.generate({ source: [], maxNewTokens: 1 })).toThrow(/messages: the prompt is empty/);
    expect(() => engine.generate({ source: new Array(17).fill(6), maxNewTokens: 1 })).toThrow(/at most 16/);
    void collect(engine.generate({ source: ids('a'), maxNewTokens: 1 }));
    expect(() => engine.generate({ source: ids('a'), maxNewTokens: 1 })).toThrow(expect.objectContaining({ code: 'resource_exhausted' }));
  });
});

/** The copy model behind an image encoder: "pixels" [1, 1, W] hold the token ids to copy. */
function imageCopyModel(calls: { encoder: number[]; decoder: number[] }): Seq2SeqModel {
  const text = copyModel(calls);
  const encoder: GraphRunner = {
    inputNames: ['image'],
    outputNames: ['memory', 'mask', 'h0'],
    async run(feeds: TensorMap) {
      const [B, , , W] = feeds.image.dims;
      const ids = BigInt64Array.from(feeds.image.data as Float32Array, (x) => BigInt(x));
      return text.encoder.run({ src: new Tensor('int64', ids, [B, W]) });
    },
  };
  return { ...text, spec: { ...text.spec, encoder: { ...text.spec.encoder, input: 'image' } }, image: { width: 3, height: 1, mean: [0, 0, 0], std: [1, 1, 1] }, encoder };
}

describe('GenerationEngine with an image encoder', () => {
  const image = (ids: number[]) => ({ pixels: Float32Array.from(ids), dims: [1, 1, ids.length] as const });

  it('encodes images arriving together in one run and decodes each', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    const engine = new GenerationEngine(imageCopyModel(calls), { maxRows: 8, maxWaiting: 8 });
    const [a, b] = await Promise.all([
      collect(engine.generate({ source: image([6, 7, 8]), maxNewTokens: 8 })),
      collect(engine.generate({ source: image([9, 10, 6]), maxNewTokens: 8 })),
    ]);
    expect(calls.encoder).toEqual([2]);
    expect(a.at(-1)).toMatchObject({ type: 'finish', text: 'a b c' });
    expect(b.at(-1)).toMatchObject({ type: 'finish', text: 'd e a' });
  });

  it('refuses text for an image model, and text models refuse images', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    expect(() => new GenerationEngine(imageCopyModel(calls), { maxRows: 8, maxWaiting: 8 }).generate({ source: [6, 7], maxNewTokens: 4 })).toThrow(
      /model: this model encodes images/,
    );
    expect(() => new GenerationEngine(copyModel(calls), { maxRows: 8, maxWaiting: 8 }).generate({ source: image([6]), maxNewTokens: 4 })).toThrow(/model: this model encodes text/);
  });

  it('encodes images of different sizes that arrive together one by one, instead of failing them', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    const engine = new GenerationEngine(imageCopyModel(calls), { maxRows: 8, maxWaiting: 8 });
    const results = await Promise.allSettled([
      collect(engine.generate({ source: image([6, 7, 8]), maxNewTokens: 8 })),
      collect(engine.generate({ source: image([9, 10]), maxNewTokens: 8 })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(calls.encoder).toEqual([1, 1]); // the stacked run was refused before the runtime; each went alone
  });

  it('isolates a fault: a request whose input trips the decoder or the encoder fails alone, the others in its batch finish', async () => {
    const calls = { encoder: [] as number[], decoder: [] as number[] };
    const model = copyModel(calls);
    const E = VOCAB.indexOf('e');
    const D = VOCAB.indexOf('d');
    const decoder = model.decoder;
    const encoder = model.encoder;
    // the runtime refuses a step fed the token "e", and an encoder run of a source holding "d"
    const batches = { encoder: [] as number[], decoder: [] as number[] };
    model.decoder = {
      ...decoder,
      run: async (feeds: TensorMap) => (
        batches.decoder.push(feeds.prev.dims[0]),
        (feeds.prev.data as BigInt64Array).includes(BigInt(E)) ? Promise.reject(new Error('indices element out of data bounds')) : decoder.run(feeds)
      ),
    };
    model.encoder = {
      ...encoder,
      run: async (feeds: TensorMap) => (
        batches.encoder.push(feeds.src.dims[0]),
        (feeds.src.data as BigInt64Array).includes(BigInt(D)) ? Promise.reject(new Error('bad source')) : encoder.run(feeds)
      ),
    };
    const engine = new GenerationEngine(model, { maxRows: 8, maxWaiting: 8 });
    const outcome = (source: string) =>
      collect(engine.generate({ source: ids(source), maxNewTokens: 10 })).then(
        (events) => (events.at(-1) as { text: string }).text,
        (err: Error) => `failed: ${err.message}`,
      );
    const results = await Promise.all([outcome('a b c .'), outcome('a e c .'), outcome('c b a .'), outcome('b d .'), outcome('a a .')]);
    expect(results).toEqual(['a b c.', 'failed: indices element out of data bounds', 'c b a.', 'failed: bad source', 'a a.']);
    expect(engine.activeSequences).toBe(0);
    expect(batches.encoder[0]).toBe(5); // they were batched together, then encoded alone
    expect(Math.max(...calls.decoder)).toBeGreaterThan(1); // the survivors kept decoding in one batch
  });
});
