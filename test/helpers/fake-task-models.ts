/**
 * Fake task models for route contract tests (test/helpers/stub-context.ts): no model files, no
 * ONNX Runtime. Each fake has the interface its routes call and answers something fixed that is
 * derived from its input, so tests pin the transport (status, shapes, headers, framing, errors,
 * admission), not a model's output.
 *
 * - fakeSlotFiller: `fill(text)` tags capitalised words as `B-city`.
 * - FakeGenerationEngine: `generate(request)` yields scripted token events then a finish event per
 *   choice; it can hold before an event (a stream that stays open), fail at an event (a decoder that
 *   trips mid-stream), and it honours `request.signal` and `return()` as the real engine does.
 * - fakeAcousticModel: an AcousticModel whose step "hears" a word of its script in every loud chunk
 *   (the real CTC decoder, endpointing and resampler run over it).
 * - fakeMemoryNetwork: the real MemoryNetwork over a fake graph runner that favours the first answer.
 * - fakeLoadedGraph: a real LoadedGraph (signature, feed checks, run queue) over a fake session.
 */
import { Tensor } from 'onnxruntime-common';
import type { InferenceSession } from 'onnxruntime-node';
import { SeqserveError, invalidArgument } from '../../server/core/errors.ts';
import type { GenerateRequest, GenerationEngine, GenerationEvent, TokenEvent } from '../../server/core/generation/generation-engine.ts';
import type { Seq2SeqModel } from '../../server/core/generation/seq2seq-model.ts';
import type { GraphRunner, TensorMap } from '../../server/core/graph-runner.ts';
import type { GenerationSpec, GraphSpec, ImageSpec, MemorySpec } from '../../server/core/manifest.ts';
import { MemoryNetwork } from '../../server/core/qa/memory-network.ts';
import type { SlotFiller, SlotFillingResult } from '../../server/core/slots/slot-filler.ts';
import type { AcousticModel } from '../../server/core/speech/recognizer-stream.ts';
import { SpelledWordTokenizer } from '../../server/core/text/spelled-word-tokenizer.ts';
import type { Metrics } from '../../server/observability/metrics.ts';
import { LoadedGraph } from '../../server/runtime/loaded-graph.ts';

// ---------------------------------------------------------------- slot filling

/** A slot filler whose `fill` tags capitalised words as cities; `gate` (if given) is awaited first. */
export function fakeSlotFiller(gate?: () => Promise<void>): SlotFiller {
  const fake: Pick<SlotFiller, 'fill'> = {
    async fill(text: string): Promise<SlotFillingResult> {
      await gate?.();
      const words = [...text.matchAll(/\S+/g)];
      if (words.length === 0) throw invalidArgument('text', 'must contain at least one word');
      const tags = words.map((w) => (/^[A-Z]/.test(w[0]) ? 'B-city' : 'O'));
      const slots = words.flatMap((w, i) => (tags[i] === 'O' ? [] : [{ name: 'city', value: w[0], start: w.index, end: w.index + w[0].length, confidence: 0.9 }]));
      return { tokens: words.map((w) => w[0]), tags, slots };
    },
  };
  return fake as SlotFiller;
}

// ---------------------------------------------------------------- generation (chat, caption)

const SPECIALS = ['<pad>', '<s>', '</s>', '<unk>', '<user>', '<assistant>'];
const LETTERS = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
const VOCAB = [...SPECIALS, 'hello', 'world', 'fly', 'to', 'tokyo', 'a', 'red', 'circle', ...LETTERS.flatMap((c) => [`@${c}`, `#${c}`])];

const GENERATION_SPEC: GenerationSpec = {
  vocab: 'vocab.json',
  tokenizer: 'spelled-words',
  bos: 1,
  eos: 2,
  pad: 0,
  unk: 3,
  roles: { user: 4, assistant: 5 },
  maxSourceTokens: 32,
  maxNewTokens: 8,
  encoder: { input: 'src', memory: ['memory'], initialStates: {} },
  decoder: { prevToken: 'prev_token', logits: 'logits' },
};

export const FAKE_IMAGE_SPEC: ImageSpec = { width: 8, height: 8, mean: [0, 0, 0], std: [1, 1, 1], grid: [2, 2] };

const NO_GRAPH: GraphRunner = { inputNames: [], outputNames: [], run: () => Promise.reject(new Error('the fake engine runs no graph')) };

export interface GenerationScript {
  /** Pieces generated for every choice (cut at the request's max tokens: finish reason `length`). */
  tokens: string[];
  /** Before yielding the event at this index (tokens and finishes, in order), wait for release() or the request's end (runs started while it is set). */
  holdAt?: number;
  /** Throw an internal error instead of yielding the event at this index (a decoder step that trips mid-stream). */
  failAt?: number;
}

/** How a generate() call ended: the events ran out, it failed, it was cancelled (signal), or its consumer returned. */
export type RunEnd = 'finished' | 'failed' | 'cancelled' | 'returned';

export class FakeGenerationEngine implements Pick<GenerationEngine, 'model' | 'generate' | 'activeSequences' | 'waitingRequests'> {
  readonly model: Seq2SeqModel;
  /** Every request generate() accepted, with how its run ended (once it has). */
  readonly runs: { request: GenerateRequest; end?: RunEnd }[] = [];
  script: GenerationScript = { tokens: ['hello', 'world'] };
  private releases: (() => void)[] = [];

  constructor(image?: ImageSpec) {
    const tokenizer = new SpelledWordTokenizer(VOCAB, GENERATION_SPEC.unk, new Set([0, 1, 2]));
    this.model = { spec: GENERATION_SPEC, tokenizer, encoder: NO_GRAPH, decoder: NO_GRAPH, states: {}, ...(image ? { image } : {}) };
  }

  /** This engine as the model a chat or caption task's routes call. */
  get engine(): GenerationEngine {
    return this as unknown as GenerationEngine;
  }

  get activeSequences(): number {
    return this.runs.filter((r) => !r.end).length;
  }

  get waitingRequests(): number {
    return 0;
  }

  /** Lets every run held at `holdAt` go on. */
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }

  generate(req: GenerateRequest): AsyncIterableIterator<GenerationEvent> {
    // refused synchronously, before any response starts, as the real engine does
    if (Array.isArray(req.source) === Boolean(this.model.image)) throw invalidArgument('model', `this model encodes ${this.model.image ? 'images' : 'text'}`);
    const run: { request: GenerateRequest; end?: RunEnd } = { request: req };
    this.runs.push(run);
    const events = this.events(req);
    const { failAt } = this.script;
    let holdAt = this.script.holdAt; // each run holds once, where the script said when it started
    const sourceLength = Array.isArray(req.source) ? req.source.length : (this.model.image?.grid ?? [1, 1]).reduce((a, b) => a * b, 1);
    let index = 0;
    let wake: (() => void) | undefined;
    const finish = (end: RunEnd) => {
      run.end ??= end;
      req.signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => wake?.();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const iterator: AsyncIterableIterator<GenerationEvent> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        for (;;) {
          if (run.end === 'returned') throw new SeqserveError('cancelled', 'the request was cancelled');
          if (run.end) return { done: true, value: undefined };
          if (req.signal?.aborted) {
            finish('cancelled');
            throw new SeqserveError('cancelled', 'the request was cancelled');
          }
          if (index === holdAt) {
            holdAt = undefined;
            await new Promise<void>((resolve) => {
              wake = resolve;
              this.releases.push(resolve);
            });
            continue;
          }
          if (index === failAt) {
            finish('failed');
            throw new Error('decoder step failed: the fake graph tripped');
          }
          const e = events[index++];
          if (!e) {
            finish('finished');
            return { done: true, value: undefined };
          }
          if (e.type === 'token' && req.attention) e.attention = Array.from({ length: sourceLength }, () => 1 / sourceLength);
          return { done: false, value: e };
        }
      },
      return: () => {
        finish('returned');
        wake?.();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
    return iterator;
  }

  private events(req: GenerateRequest): GenerationEvent[] {
    const { tokenizer } = this.model;
    const n = req.n ?? 1;
    const pieces = this.script.tokens.slice(0, req.maxNewTokens);
    const ids = pieces.map((p) => Math.max(VOCAB.indexOf(p), GENERATION_SPEC.unk));
    const logProb = req.logProbs === false ? NaN : -0.25;
    const out: GenerationEvent[] = [];
    pieces.forEach((piece, i) => {
      for (let choice = 0; choice < n; choice++) {
        const e: TokenEvent = { type: 'token', choice, token: ids[i], piece: tokenizer.piece(ids[i]) || piece, delta: (i > 0 ? ' ' : '') + piece, logProb };
        if (req.topLogprobs) e.top = VOCAB.slice(6, 6 + req.topLogprobs).map((p, k) => ({ token: 6 + k, piece: p, logProb: -0.25 - k }));
        out.push(e);
      }
    });
    const reason = pieces.length < this.script.tokens.length ? 'length' : 'stop';
    for (let choice = 0; choice < n; choice++) out.push({ type: 'finish', choice, reason, text: pieces.join(' '), tokens: pieces.length, delta: '' });
    return out;
  }
}

// ---------------------------------------------------------------- speech recognition

const ALPHABET = ['<blank>', ' ', "'", ...'abcdefghijklmnopqrstuvwxyz'];
const CHUNK_FRAMES = 20;

export interface FakeAcousticOptions {
  /** The words heard, one per loud chunk, in turn (per stream, as a recurrent state would). */
  words?: string[];
  /** The step that throws (1-based, counted over the model's life): an acoustic graph that trips mid-stream. */
  failAtStep?: number;
}

/**
 * An acoustic model at 16 kHz, 0.2 s chunks of 20 frames: a chunk whose RMS is over 0.05 spells the
 * stream's next word (a word separator, then its letters with blanks between), a quiet chunk is blank.
 */
export function fakeAcousticModel(options: FakeAcousticOptions = {}): AcousticModel & { steps: number } {
  const words = options.words ?? ['mary', 'went', 'to', 'the', 'kitchen'];
  const V = ALPHABET.length;
  const model: AcousticModel & { steps: number } = {
    audio: { sampleRate: 16000, input: 'audio', chunkSamples: 3200, contextSamples: 0, frameSamples: 160, lookaheadFrames: 0 },
    logProbs: 'log_probs',
    alphabet: ALPHABET,
    blank: 0,
    states: [{ input: 'word_in', output: 'word_out', shape: [1] }],
    beam: { width: 4, byDefault: false, hotwordBonus: 1 },
    steps: 0,
    step: (feeds: TensorMap) => {
      model.steps++;
      if (model.steps === options.failAtStep) return Promise.reject(new Error('acoustic step failed: the fake graph tripped'));
      const samples = feeds.audio.data as Float32Array;
      const rms = Math.sqrt(samples.reduce((a, s) => a + s * s, 0) / samples.length);
      const heard = (feeds.word_in.data as Float32Array)[0];
      const labels = new Array<number>(CHUNK_FRAMES).fill(0);
      let next = heard;
      if (rms > 0.05) {
        const word = words[heard % words.length];
        labels[0] = 1;
        [...word].slice(0, (CHUNK_FRAMES - 1) / 2).forEach((c, i) => (labels[1 + 2 * i] = ALPHABET.indexOf(c)));
        next = heard + 1;
      }
      const lp = new Float32Array(CHUNK_FRAMES * V).fill(Math.log(0.01 / (V - 1)));
      labels.forEach((l, t) => (lp[t * V + l] = Math.log(0.99)));
      return Promise.resolve({ log_probs: new Tensor('float32', lp, [1, CHUNK_FRAMES, V]), word_out: new Tensor('float32', Float32Array.of(next), [1]) });
    },
  };
  return model;
}

// ---------------------------------------------------------------- spoken QA

export const FAKE_ANSWERS = ['kitchen', 'garden', 'yes', 'no'];

/** The real MemoryNetwork over a graph that answers `kitchen` (p = 0.7) with even attention. */
export function fakeMemoryNetwork(recognizer: string): MemoryNetwork {
  const spec: MemorySpec = {
    story: 'story',
    question: 'question',
    answer: 'answer',
    hops: 'hops',
    answers: 'answers.json',
    maxSentences: 4,
    maxWords: 6,
    wordIds: { buckets: 97, n: 3, maxNgrams: 2 },
    recognizer,
    sentencePauseSeconds: 0.5,
  };
  const hops = 3;
  const runner: GraphRunner = {
    inputNames: ['story', 'question'],
    outputNames: ['answer', 'hops'],
    run: () => {
      const probs = FAKE_ANSWERS.map((_, i) => (i === 0 ? 0.7 : 0.3 / (FAKE_ANSWERS.length - 1)));
      return Promise.resolve({
        answer: new Tensor('float32', Float32Array.from(probs, Math.log), [1, FAKE_ANSWERS.length]),
        hops: new Tensor('float32', new Float32Array(hops * spec.maxSentences).fill(1 / spec.maxSentences), [1, hops, spec.maxSentences]),
      });
    },
  };
  return new MemoryNetwork(spec, FAKE_ANSWERS, runner);
}

// ---------------------------------------------------------------- KServe graphs

export interface FakeTensor {
  name: string;
  type: Tensor.Type;
  /** Numbers for fixed dimensions, names for symbolic ones. */
  shape: (number | string)[];
}

export interface FakeGraph {
  role?: string;
  inputs: FakeTensor[];
  outputs: FakeTensor[];
  run(feeds: TensorMap): TensorMap | Promise<TensorMap>;
}

/** `y = 2x` over FP32 [batch, 3], and `sum` [batch]: a graph to infer with over JSON and the binary extension. */
export const DOUBLER: FakeGraph = {
  role: 'model',
  inputs: [{ name: 'x', type: 'float32', shape: ['batch', 3] }],
  outputs: [
    { name: 'y', type: 'float32', shape: ['batch', 3] },
    { name: 'sum', type: 'float32', shape: ['batch'] },
  ],
  run: (feeds) => {
    const x = feeds.x.data as Float32Array;
    const rows = feeds.x.dims[0];
    const sum = Float32Array.from({ length: rows }, (_, r) => x[r * 3] + x[r * 3 + 1] + x[r * 3 + 2]);
    return {
      y: new Tensor(
        'float32',
        x.map((v) => 2 * v),
        [rows, 3],
      ),
      sum: new Tensor('float32', sum, [rows]),
    };
  },
};

/** A real LoadedGraph (signature from the fake's metadata, feed checks, run queue, metrics) over a fake session. */
export function fakeLoadedGraph(model: string, name: string, fake: FakeGraph, metrics: Metrics): LoadedGraph {
  const meta = (t: FakeTensor) => ({ name: t.name, isTensor: true as const, type: t.type, shape: t.shape });
  const session = {
    inputNames: fake.inputs.map((t) => t.name),
    outputNames: fake.outputs.map((t) => t.name),
    inputMetadata: fake.inputs.map(meta),
    outputMetadata: fake.outputs.map(meta),
    run: async (feeds: TensorMap, outputs?: readonly string[]) => {
      const all = await fake.run(feeds);
      return Array.isArray(outputs) ? Object.fromEntries(outputs.map((o: string) => [o, all[o]])) : all;
    },
    release: () => Promise.resolve(),
  };
  const spec: GraphSpec = { file: `${name}.onnx`, role: fake.role ?? 'model', states: [] };
  return new LoadedGraph(model, name, `${model}.${name}`, spec, session, metrics, { maxConcurrent: 2, maxQueued: 16 });
}
