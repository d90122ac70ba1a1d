/**
 * The model manifest (`manifest.json` in each model folder): what the model is, its ONNX graphs and
 * their roles, how inputs are preprocessed, which tensors carry recurrent state between calls, and
 * decoding defaults. Validated with zod at load; errors name the field.
 */
import { z } from 'zod';
import { SeqserveError } from './errors.ts';

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, "-" and "_"');
const fileName = z
  .string()
  .min(1)
  .refine((f) => !f.includes('..') && !f.startsWith('/') && !f.includes('\\'), 'must be a file inside the model folder');

/** A tensor that carries recurrent state: fed as `input`, returned as `output`, zeros at start. */
export const StateSpec = z.object({
  input: z.string().min(1),
  output: z.string().min(1),
  /** The axis along which states of different sequences are stacked into one batch. */
  batchAxis: z.number().int().nonnegative().default(0),
});

export const GraphSpec = z.object({
  file: fileName,
  /** What the graph does: `tagger`, `classifier`, `encoder`, `decoder_step`, `acoustic`, ... */
  role: z.string().min(1),
  states: z.array(StateSpec).default([]),
  /** Input shapes for the warm-up run at load, where 1 for every variable dimension won't do. */
  warmupShapes: z.record(z.string(), z.array(z.number().int().nonnegative())).optional(),
});

export const TextSpec = z.object({
  tokenizer: z.literal('word'),
  vocabulary: fileName,
  /** Graph input names for each word feature the model takes. */
  features: z.object({
    words: z.string().min(1),
    charNgrams: z.string().min(1).optional(),
    shapes: z.string().min(1).optional(),
  }),
  charNgrams: z
    .object({ n: z.number().int().positive(), buckets: z.number().int().min(2), max: z.number().int().positive() })
    .optional(),
  maxTokens: z.number().int().positive().default(256),
});

/** Raw audio fed to a streaming acoustic graph: chunks of samples plus left context. */
export const AudioSpec = z.object({
  sampleRate: z.number().int().min(8000).max(48000),
  /** The graph input that takes float samples [batch, samples]. */
  input: z.string().min(1),
  /** Samples per streaming chunk (a whole number of output frames). */
  chunkSamples: z.number().int().positive(),
  /** Samples of the previous chunk prepended to each chunk (feature window overlap). */
  contextSamples: z.number().int().nonnegative(),
  /** Samples per output frame. */
  frameSamples: z.number().int().positive(),
});

/** An image fed to an encoder graph: resized to width x height RGB, then (pixel - mean) / std per channel, [3, height, width]. */
export const ImageSpec = z.object({
  width: z.number().int().min(1).max(4096),
  height: z.number().int().min(1).max(4096),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([1, 1, 1]),
  /** Rows and columns of the encoder's region grid (attention over regions is row-major over it). */
  grid: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
});

export const CtcDecoding = z.object({
  kind: z.literal('ctc'),
  /** The graph output holding [batch, frames, vocabulary] log-probabilities. */
  logProbs: z.string().min(1),
  /** JSON array of output symbols, index = label id. */
  alphabet: fileName,
  blank: z.number().int().nonnegative().default(0),
  /** CTC prefix beam search: width, whether it is the default decoder, and an optional word n-gram LM for shallow fusion. */
  beam: z
    .object({
      width: z.number().int().min(1).max(256).default(8),
      default: z.boolean().default(false),
      lm: z.object({ file: fileName, alpha: z.number().nonnegative(), beta: z.number() }).optional(),
      /** Bonus per character of a hotword phrase (natural-log units) at boost 0; Google's `boost` adds to it. */
      hotwordBonus: z.number().nonnegative().default(1.5),
    })
    .optional(),
});

export const CrfDecoding = z.object({
  kind: z.literal('crf'),
  /** The graph output holding [batch, tokens, labels] emission scores. */
  emissions: z.string().min(1),
  /** JSON file with labels, transitions[from][to], start and end scores. */
  transitions: fileName,
});

export const Decoding = z.discriminatedUnion('kind', [CrfDecoding, CtcDecoding]);

/**
 * Autoregressive generation with an encoder graph (run once per request) and a decoder-step graph
 * (run once per token for all active sequences together). Encoder outputs named in `memory` are fed
 * to every decoder step under the same names, [batch, source, ...]; `initialStates` maps decoder
 * state inputs to the encoder outputs that initialise them.
 */
export const GenerationSpec = z.object({
  vocab: fileName,
  tokenizer: z.literal('spelled-words'),
  bos: z.number().int().nonnegative(),
  eos: z.number().int().nonnegative(),
  pad: z.number().int().nonnegative(),
  unk: z.number().int().nonnegative().default(3),
  /** Token that starts each turn of the conversation by role (chat models). */
  roles: z.object({ user: z.number().int().nonnegative(), assistant: z.number().int().nonnegative() }).optional(),
  maxSourceTokens: z.number().int().positive().default(256),
  maxNewTokens: z.number().int().positive().default(64),
  encoder: z.object({
    input: z.string().min(1),
    memory: z.array(z.string().min(1)).min(1),
    initialStates: z.record(z.string(), z.string()).default({}),
  }),
  decoder: z.object({ prevToken: z.string().min(1), logits: z.string().min(1), attention: z.string().min(1).optional() }),
});

/**
 * A memory network answering questions about a story (spoken QA): its graph's tensor names, the
 * answer vocabulary, and how sentences become hashed word ids (server/core/qa/memory-features.ts).
 */
export const MemorySpec = z.object({
  /** Graph inputs: story [batch, maxSentences, maxWords, ids] and question [batch, maxWords, ids], int64. */
  story: z.string().min(1),
  question: z.string().min(1),
  /** Graph outputs: answer log-probabilities [batch, answers] and attention per hop [batch, hops, maxSentences]. */
  answer: z.string().min(1),
  hops: z.string().min(1),
  /** JSON array of answer words, index = answer id. */
  answers: fileName,
  maxSentences: z.number().int().positive(),
  maxWords: z.number().int().positive(),
  wordIds: z.object({ buckets: z.number().int().min(2), n: z.number().int().positive(), maxNgrams: z.number().int().positive() }),
  /** The speech-recognition model that transcribes stories and spoken questions by default. */
  recognizer: z.string().min(1),
  /** Trailing silence (seconds) that ends a story sentence. */
  sentencePauseSeconds: z.number().positive().max(5).default(0.5),
});

export const TASKS = ['slot-filling', 'speech-recognition', 'chat', 'caption', 'speech-qa', 'generic'] as const;

export const Manifest = z
  .object({
    name,
    version: z.string().regex(/^[0-9A-Za-z._-]+$/).default('1'),
    task: z.enum(TASKS),
    description: z.string().default(''),
    graphs: z.record(z.string().regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and "_"'), GraphSpec),
    text: TextSpec.optional(),
    audio: AudioSpec.optional(),
    image: ImageSpec.optional(),
    decoding: Decoding.optional(),
    generation: GenerationSpec.optional(),
    memory: MemorySpec.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.task === 'speech-recognition') {
      if (!m.audio) ctx.addIssue({ code: 'custom', path: ['audio'], message: 'speech-recognition models need an audio section' });
      if (m.decoding?.kind !== 'ctc') ctx.addIssue({ code: 'custom', path: ['decoding'], message: 'speech-recognition models need ctc decoding' });
      if (m.audio && m.audio.chunkSamples % m.audio.frameSamples !== 0)
        ctx.addIssue({ code: 'custom', path: ['audio', 'chunkSamples'], message: 'must be a whole number of frames (frameSamples)' });
    }
    if (m.task === 'chat' || m.task === 'caption') {
      if (!m.generation) ctx.addIssue({ code: 'custom', path: ['generation'], message: `${m.task} models need a generation section` });
      for (const role of ['encoder', 'decoder_step'])
        if (!Object.values(m.graphs).some((g) => g.role === role)) ctx.addIssue({ code: 'custom', path: ['graphs'], message: `${m.task} models need a graph with role "${role}"` });
    }
    if (m.task === 'speech-qa') {
      if (!m.memory) ctx.addIssue({ code: 'custom', path: ['memory'], message: 'speech-qa models need a memory section' });
      if (!Object.values(m.graphs).some((g) => g.role === 'memory_network')) ctx.addIssue({ code: 'custom', path: ['graphs'], message: 'speech-qa models need a graph with role "memory_network"' });
    }
    if (m.task === 'caption' && !m.image) ctx.addIssue({ code: 'custom', path: ['image'], message: 'caption models need an image section' });
    if (Object.keys(m.graphs).length === 0) ctx.addIssue({ code: 'custom', path: ['graphs'], message: 'at least one graph is required' });
    if (m.task === 'slot-filling') {
      if (!m.text) ctx.addIssue({ code: 'custom', path: ['text'], message: 'slot-filling models need a text section' });
      if (m.decoding?.kind !== 'crf') ctx.addIssue({ code: 'custom', path: ['decoding'], message: 'slot-filling models need crf decoding' });
      if (!Object.values(m.graphs).some((g) => g.role === 'tagger'))
        ctx.addIssue({ code: 'custom', path: ['graphs'], message: 'slot-filling models need a graph with role "tagger"' });
    }
  });

export type Manifest = z.infer<typeof Manifest>;
export type GraphSpec = z.infer<typeof GraphSpec>;
export type StateSpec = z.infer<typeof StateSpec>;
export type TextSpec = z.infer<typeof TextSpec>;
export type AudioSpec = z.infer<typeof AudioSpec>;
export type ImageSpec = z.infer<typeof ImageSpec>;
export type MemorySpec = z.infer<typeof MemorySpec>;
export type GenerationSpec = z.infer<typeof GenerationSpec>;

/** Parses a manifest; throws an Error whose message lists every problem as `field: reason`. */
export function parseManifest(json: unknown): Manifest {
  const result = Manifest.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new SeqserveError('failed_precondition', problems.join('; '));
}
