import { describe, expect, it } from 'vitest';
import { SeqserveError } from './errors.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { axisMaximums, checkFeeds, manifestMinimums, signatureFromMetadata, type FeedTensor, type GraphSignature, type InputSignature } from './feed-check.ts';
import { parseManifest, type Manifest } from './manifest.ts';

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
    expect(signatureFromMetadata([{ name: 'x', isTensor: true, type: 'float32', shape: [-1, ''] }])[0]).toEqual({
      name: 'x',
      type: 'float32',
      shape: [-1, -1],
      dimNames: [undefined, undefined],
    });
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
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { extra: tensor('float32', [1]) }))).message).toMatch(
      /"extra" is not an input of chat.decoder \(inputs: prev_token, h_in, src_mask, src_ids\)/,
    );
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { prev_token: tensor('float32', [1]) }))).message).toMatch(/input "prev_token" takes int64, not float32/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: tensor('float32', [1, 256]) }))).message).toMatch(/input "h_in" has rank 3 \(\[1, -1, 256\]\), not 2/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: tensor('float32', [1, 1, 255]) }))).message).toMatch(/dimension 2 of input "h_in" must be 256, not 255/);
    expect(refusal(() => checkFeeds(decoder, feeds(1, 2, { h_in: { type: 'float32', dims: [1, -1, 256], data: new Float32Array(256) } }))).message).toMatch(
      /input "h_in" has dims that are not non-negative integers/,
    );
  });

  it('refuses data whose length disagrees with the shape, and shapes whose element count overflows', () => {
    expect(refusal(() => checkFeeds(decoder, feeds(2, 3, { src_ids: tensor('float32', [2, 3], 5) }))).message).toMatch(
      /input "src_ids" of shape \[2, 3\] needs 6 elements of data, not 5/,
    );
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
    expect(refusal(() => checkFeeds(lstm, f(2, 1, 1))).message).toBe(
      'mine.step: inputs "x" (axis 0 = 2) and "initial_h" (axis 1 = 1) share the batch dimension "batch" but disagree',
    );
    expect(refusal(() => checkFeeds(lstm, f(2, 2, 3))).message).toBe(
      'mine.step: inputs "x" (axis 0 = 2) and "initial_c" (axis 1 = 3) share the batch dimension "batch" but disagree',
    );
    // without the manifest's states the two symbols are unrelated
    expect(() => checkFeeds({ ...lstm, states: [] }, f(2, 2, 3))).not.toThrow();
    // states with no symbol at all
    const unnamed: GraphSignature = {
      name: 'g',
      inputs: [
        { name: 'h', type: 'float32', shape: [1, -1] },
        { name: 'c', type: 'float32', shape: [-1, 1] },
      ],
      states: [
        { input: 'h', batchAxis: 1 },
        { input: 'c', batchAxis: 0 },
      ],
    };
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
    const audio = { sampleRate: 16000, input: 'samples', chunkSamples: 3840, contextSamples: 240, frameSamples: 480, lookaheadFrames: 0 };
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

const bundled = (model: string): Manifest => parseManifest(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'models', model, 'manifest.json'), 'utf8')));
/** Bounds as `input[axis] <= length (why)`, for readable expectations. */
const show = (r: { maximums: readonly { input: string; axis: number; length: number; why: string }[] }) => r.maximums.map((m) => `${m.input}[${m.axis}] <= ${m.length} (${m.why})`);
const SERVER = { maxAxisLength: 128, decoderRows: 256, streamBatch: 64 };

describe('axisMaximums and the check of upper bounds', () => {
  const chatEncoder = signatureFromMetadata([{ name: 'src_tokens', isTensor: true, type: 'int64', shape: ['batch', 'source'] }]);

  it('refuses an axis longer than its bound, naming input, axis, length, bound and where it comes from', () => {
    const { maximums, problems } = axisMaximums('chat', 'encoder', bundled('chat'), chatEncoder, SERVER);
    expect(problems).toEqual([]);
    const encoder: GraphSignature = { name: 'chat.encoder', inputs: chatEncoder, maximums };
    const e = refusal(() => checkFeeds(encoder, { src_tokens: tensor('int64', [1, 101]) }));
    expect(e.message).toBe('chat.encoder: input "src_tokens" axis 1 has length 101; at most 100 (generation.maxSourceTokens of model chat)');
    expect(e.field).toBe('src_tokens');
    expect(() => checkFeeds(encoder, { src_tokens: tensor('int64', [1, 100]) })).not.toThrow();
    const field = refusal(() => checkFeeds(encoder, { src_tokens: tensor('int64', [257, 3]) }, { field: () => 'inputs[0].shape' }));
    expect(field.message).toBe('inputs[0].shape: input "src_tokens" axis 0 has length 257; at most 256 (the requests model chat encodes together)');
    // the bound is checked before the data: a huge shape with no data is refused for its length
    expect(refusal(() => checkFeeds(encoder, { src_tokens: { type: 'int64', dims: [1, 2_000_000], data: new BigInt64Array(1) } })).message).toMatch(
      /axis 1 has length 2000000; at most 100/,
    );
  });

  it('bounds what the chat and caption tasks feed, and nothing less', () => {
    const chat = bundled('chat');
    expect(show(axisMaximums('chat', 'encoder', chat, chatEncoder, SERVER))).toEqual([
      'src_tokens[0] <= 256 (the requests model chat encodes together)',
      'src_tokens[1] <= 100 (generation.maxSourceTokens of model chat)',
    ]);
    const decoder = signatureFromMetadata([
      { name: 'prev_token', isTensor: true, type: 'int64', shape: ['batch'] },
      { name: 'h_in', isTensor: true, type: 'float32', shape: [1, 'batch', 256] },
      { name: 'context_proj', isTensor: true, type: 'float32', shape: ['batch', 'source', 257] },
      { name: 'src_mask', isTensor: true, type: 'float32', shape: ['batch', 'source'] },
    ]);
    expect(show(axisMaximums('chat', 'decoder', chat, decoder, SERVER))).toEqual([
      'prev_token[0] <= 256 (the sequences model chat decodes together)',
      'h_in[1] <= 256 (the sequences model chat decodes together)',
      'context_proj[0] <= 256 (the sequences model chat decodes together)',
      'context_proj[1] <= 100 (generation.maxSourceTokens of model chat)',
      'src_mask[0] <= 256 (the sequences model chat decodes together)',
      'src_mask[1] <= 100 (generation.maxSourceTokens of model chat)',
    ]);
    // a request's own rows (beam_width 16) are admitted even when the engine holds fewer
    expect(show(axisMaximums('chat', 'decoder', chat, decoder, { decoderRows: 4 }))[0]).toBe('prev_token[0] <= 16 (the sequences model chat decodes together)');
    // an image encoder: batch and, where symbolic, the image's size; regions of the memory from image.grid
    const caption = bundled('caption');
    const image = signatureFromMetadata([{ name: 'image', isTensor: true, type: 'float32', shape: ['batch', 'c', 'h', 'w'] }]);
    expect(show(axisMaximums('caption', 'encoder', caption, image, SERVER))).toEqual([
      'image[0] <= 256 (the requests model caption encodes together)',
      'image[1] <= 3 (the colour channels model caption feeds)',
      'image[2] <= 64 (image.height of model caption)',
      'image[3] <= 64 (image.width of model caption)',
    ]);
    const memory = signatureFromMetadata([{ name: 'memory', isTensor: true, type: 'float32', shape: ['batch', 'regions', 128] }]);
    expect(show(axisMaximums('caption', 'decoder', caption, memory, SERVER))).toEqual([
      'memory[0] <= 256 (the sequences model caption decodes together)',
      'memory[1] <= 64 (image.grid of model caption: its regions)',
    ]);
  });

  it('bounds a streaming acoustic graph by one chunk and the streams batched, a tagger by text.maxTokens, a memory network by its story', () => {
    const acoustic = signatureFromMetadata([
      { name: 'samples', isTensor: true, type: 'float32', shape: ['batch', 'samples'] },
      { name: 'state_in', isTensor: true, type: 'float32', shape: [2, 'batch', 256] },
    ]);
    expect(show(axisMaximums('asr', 'acoustic', bundled('asr'), acoustic, SERVER))).toEqual([
      'samples[0] <= 64 (the streams model asr runs together)',
      `samples[1] <= ${bundled('asr').audio!.contextSamples + bundled('asr').audio!.chunkSamples} (audio.contextSamples + audio.chunkSamples of model asr: one streaming chunk)`,
      'state_in[1] <= 64 (the streams model asr runs together)',
    ]);
    const tagger = signatureFromMetadata([
      { name: 'word_ids', isTensor: true, type: 'int64', shape: ['batch', 'tokens'] },
      { name: 'ngram_ids', isTensor: true, type: 'int64', shape: ['batch', 'tokens', 'k'] },
    ]);
    // the task feeds batch 1: KServe's batch is held to the server's default
    expect(show(axisMaximums('slots', 'tagger', bundled('slots'), tagger, SERVER))).toEqual([
      "word_ids[0] <= 128 (--max-axis-length, the server's bound on a symbolic axis; graphs.tagger.maxShapes in model slots's manifest sets the graph's own)",
      'word_ids[1] <= 128 (text.maxTokens of model slots)',
      "ngram_ids[0] <= 128 (--max-axis-length, the server's bound on a symbolic axis; graphs.tagger.maxShapes in model slots's manifest sets the graph's own)",
      'ngram_ids[1] <= 128 (text.maxTokens of model slots)',
      'ngram_ids[2] <= 24 (text.charNgrams.max of model slots)',
    ]);
    const network = signatureFromMetadata([
      { name: 'story', isTensor: true, type: 'int64', shape: [1, 's', 'w', 'g'] },
      { name: 'question', isTensor: true, type: 'int64', shape: [1, 'w', 'g'] },
    ]);
    expect(show(axisMaximums('speech_qa', 'memory', bundled('speech_qa'), network, {}))).toEqual([
      'story[1] <= 16 (memory.maxSentences of model speech_qa)',
      'story[2] <= 10 (memory.maxWords of model speech_qa)',
      'story[3] <= 12 (1 + memory.wordIds.maxNgrams of model speech_qa)',
      'question[1] <= 10 (memory.maxWords of model speech_qa)',
      'question[2] <= 12 (1 + memory.wordIds.maxNgrams of model speech_qa)',
    ]);
  });

  const classifier: InputSignature[] = signatureFromMetadata([
    { name: 'token_ids', isTensor: true, type: 'int64', shape: ['batch', 'tokens'] },
    { name: 'lengths', isTensor: true, type: 'int64', shape: ['batch', 1] },
  ]);
  const generic = (maxShapes?: Record<string, (number | null)[]>): Manifest =>
    parseManifest({ name: 'sentiment', task: 'generic', graphs: { classifier: { file: 'c.onnx', role: 'classifier', ...(maxShapes ? { maxShapes } : {}) } } });

  it("holds a generic model's symbolic axes to the server's default, unless its manifest says otherwise", () => {
    const d = "--max-axis-length, the server's bound on a symbolic axis; graphs.classifier.maxShapes in model sentiment's manifest sets the graph's own";
    expect(show(axisMaximums('sentiment', 'classifier', generic(), classifier, SERVER))).toEqual([
      `token_ids[0] <= 128 (${d})`,
      `token_ids[1] <= 128 (${d})`,
      `lengths[0] <= 128 (${d})`,
    ]);
    expect(axisMaximums('sentiment', 'classifier', generic(), classifier, { maxAxisLength: 0 }).maximums).toEqual([]); // --max-axis-length 0: none
    // maxShapes: a bound per axis of the inputs it lists, null for none; the others keep the default
    const own = axisMaximums('sentiment', 'classifier', generic({ token_ids: [null, 2048] }), classifier, SERVER);
    expect(own.problems).toEqual([]);
    expect(show(own)).toEqual(['token_ids[1] <= 2048 (graphs.classifier.maxShapes of model sentiment)', `lengths[0] <= 128 (${d})`]);
    const graph: GraphSignature = { name: 'sentiment.classifier', inputs: classifier, maximums: own.maximums };
    const feed = (batch: number, tokens: number) => ({ token_ids: tensor('int64', [batch, tokens]), lengths: tensor('int64', [batch, 1]) });
    expect(() => checkFeeds(graph, feed(1, 2048))).not.toThrow();
    expect(refusal(() => checkFeeds(graph, feed(1, 2049))).message).toBe(
      'sentiment.classifier: input "token_ids" axis 1 has length 2049; at most 2048 (graphs.classifier.maxShapes of model sentiment)',
    );
    // token_ids' batch is unbounded, but lengths' is not: they share "batch"
    expect(refusal(() => checkFeeds(graph, feed(129, 4))).message).toMatch(/^sentiment.classifier: input "lengths" axis 0 has length 129; at most 128 \(--max-axis-length/);
  });

  it('names mistakes in maxShapes: an unknown input, the wrong rank, a bound below a fixed dimension or below what the task feeds', () => {
    const problems = (m: Manifest, g = 'classifier', inputs = classifier) => axisMaximums(m.name, g, m, inputs, SERVER).problems;
    expect(problems(generic({ tokens: [1, 2] }))).toEqual(['graphs.classifier.maxShapes: graph "classifier" has no input "tokens" (inputs: token_ids, lengths)']);
    expect(problems(generic({ token_ids: [64] }))).toEqual([
      'graphs.classifier.maxShapes.token_ids: 1 bound for an input of rank 2 ([-1, -1]); give one per axis (null: unbounded)',
    ]);
    expect(problems(generic({ lengths: [4, null] }))).toEqual([]);
    const chat = bundled('chat');
    chat.graphs.encoder.maxShapes = { src_tokens: [8, 50] };
    expect(problems(chat, 'encoder', chatEncoder)).toEqual([
      'graphs.encoder.maxShapes.src_tokens[0]: 8 is below what the chat endpoints feed, 256 (the requests model chat encodes together)',
      'graphs.encoder.maxShapes.src_tokens[1]: 50 is below what the chat endpoints feed, 100 (generation.maxSourceTokens of model chat)',
    ]);
    const withFixed = signatureFromMetadata([{ name: 'lengths', isTensor: true, type: 'int64', shape: ['batch', 3] }]);
    expect(problems(generic({ lengths: [4, 2] }), 'classifier', withFixed)).toEqual(["graphs.classifier.maxShapes.lengths[1]: 2 is below the graph's fixed dimension 3"]);
    // zod: bounds are positive integers or null
    expect(() => generic({ token_ids: [0, 4] })).toThrow(/graphs.classifier.maxShapes.token_ids\[0\]: bounds are at least 1/);
  });
});
