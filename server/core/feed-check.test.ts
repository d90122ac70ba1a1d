import { describe, expect, it } from 'vitest';
import { SeqserveError } from './errors.ts';
import { checkFeeds, manifestMinimums, signatureFromMetadata, type FeedTensor, type GraphSignature } from './feed-check.ts';

const tensor = (type: string, dims: number[], length = dims.reduce((a, b) => a * b, 1)): FeedTensor => ({
  type,
  dims,
  data: type === 'int64' ? new BigInt64Array(length) : new Float32Array(length),
  location: 'cpu',
});

// the chat decoder's signature, as onnxruntime reports it, with its manifest state
const decoder: GraphSignature = {
  name: 'chat.decoder',
  inputs: signatureFromMetadata([
    { name: 'prev_token', isTensor: true, type: 'int64', shape: ['batch'] },
    { name: 'h_in', isTensor: true, type: 'float32', shape: [1, 'batch', 256] },
    { name: 'src_mask', isTensor: true, type: 'float32', shape: ['batch', 'source'] },
    { name: 'src_ids', isTensor: true, type: 'float32', shape: ['batch', 'source'] },
  ]),
  states: [{ input: 'h_in', batchAxis: 1 }],
};

const feeds = (batch: number, source: number, over: Record<string, FeedTensor> = {}) => ({
  prev_token: tensor('int64', [batch]),
  h_in: tensor('float32', [1, batch, 256]),
  src_mask: tensor('float32', [batch, source]),
  src_ids: tensor('float32', [batch, source]),
  ...over,
});

function refusal(run: () => void): SeqserveError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SeqserveError);
    expect((err as SeqserveError).code).toBe('invalid_argument');
    return err as SeqserveError;
  }
  throw new Error('expected the feed to be refused');
}

describe('signatureFromMetadata', () => {
  it('keeps -1 for symbolic dimensions and their names beside', () => {
    expect(decoder.inputs[1]).toEqual({ name: 'h_in', type: 'float32', shape: [1, -1, 256], dimNames: [undefined, 'batch', undefined] });
    expect(signatureFromMetadata([{ name: 'x', isTensor: true, type: 'float32', shape: [-1, ''] }])[0]).toEqual({ name: 'x', type: 'float32', shape: [-1, -1], dimNames: [undefined, undefined] });
  });
});

describe('checkFeeds', () => {
  it('accepts a consistent feed', () => {
    expect(() => checkFeeds(decoder, feeds(3, 7))).not.toThrow();
  });

  it('refuses an axis of length 0, naming the input and the axis', () => {
    const e = refusal(() => checkFeeds(decoder, feeds(1, 0)));
    expect(e.message).toBe('chat.decoder: input "src_mask" axis 1 has length 0; every axis must be at least 1');
    expect(e.field).toBe('src_mask');
    expect(refusal(() => checkFeeds(decoder, feeds(0, 4))).message).toMatch(/input "prev_token" axis 0 has length 0/);
    // a zero where the graph has a fixed dimension is also a zero-length axis
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: tensor('float32', [1, 1, 0]) }))).message).toMatch(/input "h_in" axis 2 has length 0/);
  });

  it('names the request field when given one', () => {
    const e = refusal(() => checkFeeds(decoder, feeds(1, 0), { field: (n) => `inputs[${['prev_token', 'h_in', 'src_mask', 'src_ids'].indexOf(n)}].shape` }));
    expect(e.message).toBe('inputs[2].shape: input "src_mask" axis 1 has length 0; every axis must be at least 1');
    expect(e.field).toBe('inputs[2].shape');
  });

  it('refuses missing, unknown and mistyped inputs, a wrong rank and a wrong fixed dimension', () => {
    const { prev_token: _, ...noToken } = feeds(1, 2);
    expect(refusal(() => checkFeeds(decoder, noToken)).message).toBe('chat.decoder: missing input(s) prev_token of chat.decoder');
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { extra: tensor('float32', [1]) }))).message).toMatch(/"extra" is not an input of chat.decoder \(inputs: prev_token, h_in, src_mask, src_ids\)/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { prev_token: tensor('float32', [1]) }))).message).toMatch(/input "prev_token" takes int64, not float32/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: tensor('float32', [1, 256]) }))).message).toMatch(/input "h_in" has rank 3 \(\[1, -1, 256\]\), not 2/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: tensor('float32', [1, 1, 255]) }))).message).toMatch(/dimension 2 of input "h_in" must be 256, not 255/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: { type: 'float32', dims: [1, -1, 256], data: new Float32Array(256) } }))).message).toMatch(/input "h_in" has dims that are not non-negative integers/);
  });

  it('refuses data whose length disagrees with the shape, and shapes whose element count overflows', () => {
    expect(refusal(() => checkFeeds(decoder, feeds(2, 3, { src_ids: tensor('float32', [2, 3], 5) }))).message).toMatch(/input "src_ids" of shape \[2, 3\] needs 6 elements of data, not 5/);
    const huge = { type: 'float32', dims: [2 ** 31, 2 ** 31, 2 ** 31], data: new Float32Array(1) };
    const sig: GraphSignature = { name: 'g', inputs: [{ name: 'x', type: 'float32', shape: [-1, -1, -1] }] };
    expect(refusal(() => checkFeeds(sig, { x: huge })).message).toMatch(/input "x" of shape \[2147483648, 2147483648, 2147483648\] has too many elements/);
    // data elsewhere than on the CPU is not read
    expect(() => checkFeeds(sig, { x: { type: 'float32', dims: [1, 2, 3], location: 'gpu-buffer' } })).not.toThrow();
  });

  it('refuses inputs that share a symbolic dimension but disagree, naming both', () => {
    const e = refusal(() => checkFeeds(decoder, feeds(2, 3, { src_ids: tensor('float32', [2, 4]) })));
    expect(e.message).toBe('chat.decoder: inputs "src_mask" (axis 1 = 3) and "src_ids" (axis 1 = 4) share the dimension "source" but disagree');
    expect(e.field).toBe('src_ids');
    const b = refusal(() => checkFeeds(decoder, feeds(2, 3, { h_in: tensor('float32', [1, 1, 256]) })));
    expect(b.message).toBe('chat.decoder: inputs "prev_token" (axis 0 = 2) and "h_in" (axis 1 = 1) share the batch dimension "batch" but disagree');
  });

  it("ties the states' batch axes to each other and to inputs sharing their symbol, from the manifest", () => {
    // an LSTM step exported with differently named dims: only the manifest says h and c share the batch
    const lstm: GraphSignature = {
      name: 'mine.step',
      inputs: signatureFromMetadata([
        { name: 'x', isTensor: true, type: 'float32', shape: ['batch', 5] },
        { name: 'initial_h', isTensor: true, type: 'float32', shape: [1, 'batch', 12] },
        { name: 'initial_c', isTensor: true, type: 'float32', shape: [1, 'c_batch', 12] },
      ]),
      states: [
        { input: 'initial_h', batchAxis: 1 },
        { input: 'initial_c', batchAxis: 1 },
      ],
    };
    const f = (x: number, h: number, c: number) => ({ x: tensor('float32', [x, 5]), initial_h: tensor('float32', [1, h, 12]), initial_c: tensor('float32', [1, c, 12]) });
    expect(() => checkFeeds(lstm, f(2, 2, 2))).not.toThrow();
    expect(refusal(() => checkFeeds(lstm, f(2, 1, 1))).message).toBe('mine.step: inputs "x" (axis 0 = 2) and "initial_h" (axis 1 = 1) share the batch dimension "batch" but disagree');
    expect(refusal(() => checkFeeds(lstm, f(2, 2, 3))).message).toBe('mine.step: inputs "x" (axis 0 = 2) and "initial_c" (axis 1 = 3) share the batch dimension "batch" but disagree');
    // without the manifest's states the two symbols are unrelated
    expect(() => checkFeeds({ ...lstm, states: [] }, f(2, 2, 3))).not.toThrow();
    // states with no symbol at all
    const unnamed: GraphSignature = { name: 'g', inputs: [{ name: 'h', type: 'float32', shape: [1, -1] }, { name: 'c', type: 'float32', shape: [-1, 1] }], states: [{ input: 'h', batchAxis: 1 }, { input: 'c', batchAxis: 0 }] };
    expect(refusal(() => checkFeeds(unnamed, { h: tensor('float32', [1, 2]), c: tensor('float32', [3, 1]) })).message).toBe(
      'g: inputs "h" (axis 1 = 2) and "c" (axis 0 = 3) share the batch dimension of the states (manifest states[].batchAxis) but disagree',
    );
  });

  it("refuses an audio input shorter than one output frame (the manifest's audio section)", () => {
    // the bundled ASR graph aborts the process for 400-719 samples: its front end yields 0 frames
    const inputs = signatureFromMetadata([
      { name: 'samples', isTensor: true, type: 'float32', shape: ['batch', 'samples'] },
      { name: 'state_in', isTensor: true, type: 'float32', shape: [2, 'batch', 256] },
    ]);
    const audio = { sampleRate: 16000, input: 'samples', chunkSamples: 3840, contextSamples: 240, frameSamples: 480 };
    const minimums = manifestMinimums({ audio }, inputs);
    expect(minimums).toEqual([{ input: 'samples', axis: 1, length: 720, why: 'audio.contextSamples + audio.frameSamples: one output frame' }]);
    expect(manifestMinimums({}, inputs)).toEqual([]);
    const acoustic: GraphSignature = { name: 'asr.acoustic', inputs, states: [{ input: 'state_in', batchAxis: 1 }], minimums };
    const f = (n: number) => ({ samples: tensor('float32', [1, n]), state_in: tensor('float32', [2, 1, 256]) });
    expect(refusal(() => checkFeeds(acoustic, f(719))).message).toBe(
      'asr.acoustic: input "samples" axis 1 has length 719; the graph needs at least 720 (audio.contextSamples + audio.frameSamples: one output frame)',
    );
    expect(refusal(() => checkFeeds(acoustic, f(0))).message).toMatch(/axis 1 has length 0; every axis must be at least 1/);
    expect(() => checkFeeds(acoustic, f(720))).not.toThrow();
  });
});
