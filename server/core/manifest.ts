/**
 * The model manifest (`manifest.json` in each model folder): what the model is, its ONNX graphs and
 * their roles, how inputs are preprocessed, which tensors carry recurrent state between calls, and
 * decoding defaults. Validated with zod at load; errors name the field. Every object is strict: an
 * unknown key is an error naming the closest known key (a typo must not leave a default in place).
 * docs/manifest.schema.json is generated from this schema (`npm run schema`).
 */
import { z } from 'zod';
import { TASK_MODULES, TASK_NAMES, type TaskName } from '../tasks/registry.ts';
import { SeqserveError } from './errors.ts';
import { DynamicBatchingSpec } from './batching/dynamic-batching-spec.ts';
import { TensorSpec } from './graph-signature.ts';
import { editDistance } from './text/edit-distance.ts';
import { TextLineSpec } from '../tasks/text-recognition/spec.ts';
import { fileName } from './manifest-file-name.ts';

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'model names are lower case: letters, digits, "-" and "_"');

/** A tensor that carries recurrent state: fed as `input`, returned as `output`, zeros at start. */
export const StateSpec = z
  .strictObject({
    input: z.string().min(1).describe('the graph input that takes the state (zeros at the start of a sequence)'),
    output: z.string().min(1).describe('the graph output that returns the next state'),
    /** The axis along which states of different sequences are stacked into one batch. */
    batchAxis: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('the axis along which states of different sequences are stacked into one batch (1 for PyTorch RNN states [layers, batch, hidden])'),
  })
  .describe('a tensor that carries recurrent state between calls');

/** Server-held state for a graph with `states`: how long an idle sequence is kept, how many live at once. */
export const SequenceBatchingSpec = z
  .strictObject({
    maxSequenceIdleMicroseconds: z
      .number()
      .int()
      .positive()
      .default(60_000_000)
      .describe("a sequence with no step for this long is freed (Triton's max_sequence_idle_microseconds)"),
    maxSequences: z.number().int().positive().default(1024).describe('live sequences at most; a start beyond is refused (RESOURCE_EXHAUSTED)'),
  })
  .describe("server-held state for KServe requests carrying Triton's sequence_id / sequence_start / sequence_end (needs states)");

export const GraphSpec = z.strictObject({
  file: fileName.describe(
    'the ONNX file, relative to the model folder, or "npm:<package>/<path>": a file of an installed npm package, found as Node finds packages from the model folder (server/runtime/model-file-path.ts)',
  ),
  /** What the graph does; each task accepts its own roles (TASK_ROLES). */
  role: z.string().min(1).describe('what the graph does; the roles a task accepts are listed in README ("Serving your own PyTorch model")'),
  states: z.array(StateSpec).default([]).describe('recurrent state pairs of the graph'),
  sequenceBatching: SequenceBatchingSpec.optional(),
  /**
   * Input shapes for the warm-up run at load, where 1 for every variable dimension won't do (e.g. a
   * convolution over time that needs at least 3 steps): input name -> whole shape. No zero
   * dimensions: a zero-size tensor is refused.
   */
  /**
   * Scalar inputs the server supplies with one fixed value (a sample rate the graph was exported to
   * take as an input): clients do not send them; every run gets the value.
   */
  constants: z
    .record(z.string(), z.number())
    .optional()
    .describe('scalar (rank-0) inputs the server supplies with this value on every run (e.g. {"sr": 16000}); clients do not send them'),
  warmupShapes: z
    .record(z.string(), z.array(z.number().int().positive('dimensions are at least 1 (a zero-size tensor is refused)')))
    .optional()
    .describe('input shapes for the warm-up run at load (input name -> whole shape), where 1 for every variable dimension will not do'),
  /**
   * Upper bounds of input axes (input name -> a bound per axis, null for none): longer feeds are
   * refused before the graph runs. They replace the task's bounds and the server's
   * `--max-axis-length` for the inputs listed (server/core/feed-check.ts, axisMaximums).
   */
  maxShapes: z
    .record(z.string(), z.array(z.number().int().positive('bounds are at least 1').nullable()))
    .optional()
    .describe(
      "upper bounds of input axes (input name -> one bound per axis, null for unbounded); longer requests are refused with 400 / INVALID_ARGUMENT. Replaces the task's bounds and the server's --max-axis-length for the inputs listed",
    ),
  /** Dynamic batching of concurrent requests (server/core/batching/dynamic-batching-spec.ts); checked against the graph at load. */
  dynamicBatching: DynamicBatchingSpec.optional(),
  /** The graph's signature as declared (server/core/graph-signature.ts; `seqserve init` writes it); checked against the graph at load. */
  inputs: z
    .array(TensorSpec)
    .optional()
    .describe(
      "the graph's inputs as declared (seqserve init writes them from the graph), each name, datatype and shape; optional, and checked at load: a graph whose inputs differ fails to load naming the difference",
    ),
  outputs: z.array(TensorSpec).optional().describe("the graph's outputs as declared, checked at load like inputs"),
});

export const TextSpec = z.strictObject({
  tokenizer: z.literal('word'),
  vocabulary: fileName,
  /** Graph input names for each word feature the model takes. */
  features: z.strictObject({
    words: z.string().min(1),
    charNgrams: z.string().min(1).optional(),
    shapes: z.string().min(1).optional(),
  }),
  charNgrams: z.strictObject({ n: z.number().int().positive(), buckets: z.number().int().min(2), max: z.number().int().positive() }).optional(),
  maxTokens: z.number().int().positive().default(256),
});

/** Raw audio fed to a streaming acoustic graph: chunks of samples plus left context. */
export const AudioSpec = z.strictObject({
  sampleRate: z.number().int().min(8000).max(48000),
  /** The graph input that takes float samples [batch, samples]. */
  input: z.string().min(1),
  /** Samples per streaming chunk (a whole number of output frames). */
  chunkSamples: z.number().int().positive(),
  /** Samples of the previous chunk prepended to each chunk (feature window overlap). */
  contextSamples: z.number().int().nonnegative(),
  /** Samples per output frame. */
  frameSamples: z.number().int().positive(),
  /**
   * Output frames the graph reads ahead: each chunk's log-probabilities are those of the frames this
   * many before it (the graph keeps the frames still waiting for their future in a state), so a
   * stream's first lookaheadFrames output frames are dropped and its end is flushed with silence.
   */
  lookaheadFrames: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(0)
    .describe(
      "output frames the graph reads ahead: its log-probabilities are those of the frames this many before the chunk's (kept in a state), so a stream's first ones are dropped and its end is flushed with silence",
    ),
});

/**
 * A spoken-word encoder (audio-embedding): the graph takes float samples [batch, samples] at
 * `sampleRate` and each row's length in samples [batch] (int64), and gives one vector per row
 * [batch, dimensions] (audio word2vec).
 */
export const AudioEmbeddingSpec = z.strictObject({
  sampleRate: z.number().int().min(8000).max(48000),
  input: z.string().min(1).describe('the graph input that takes float samples [batch, samples] at sampleRate'),
  lengths: z.string().min(1).describe("the graph input that takes each row's length in samples [batch] (int64); rows are zero-padded past it"),
  output: z.string().min(1).describe('the graph output holding the embeddings [batch, dimensions]'),
  dimensions: z.number().int().positive(),
  minSamples: z.number().int().positive().default(400).describe('shorter audio is zero-padded to this many samples (the feature window)'),
  maxSeconds: z.number().positive().max(60).default(8).describe('the longest audio embedded as one vector (a word or short phrase)'),
});

/**
 * How a speech recognizer decides that an utterance has ended (server/core/speech/): `ctc-blank`
 * (the default) counts trailing frames whose best CTC label is the blank or the word separator;
 * `vad` runs a voice-activity graph of the same manifest (role "vad", e.g. Silero VAD) over the same
 * audio in fixed frames, its recurrent state per stream, and ends an utterance after `minSilenceMs`
 * of non-speech following speech. Both end an utterance at `maxUtteranceMs`, and one in which
 * nothing was heard after `silenceWithoutSpeechMs`.
 */
const endpointLimits = {
  silenceWithoutSpeechMs: z
    .number()
    .int()
    .positive()
    .max(60_000)
    .default(2400)
    .describe('ms of audio with no speech after which an empty utterance ends (nothing is reported; the next one starts)'),
  maxUtteranceMs: z.number().int().positive().max(300_000).default(20_000).describe('the longest utterance in ms: it ends there even while speech goes on'),
};
export const CtcBlankEndpointing = z
  .strictObject({
    mode: z.literal('ctc-blank'),
    silenceAfterSpeechMs: z
      .number()
      .int()
      .positive()
      .max(60_000)
      .default(1200)
      .describe('ms of trailing blank (or word-separator) frames after the last decoded letter that end an utterance'),
    ...endpointLimits,
  })
  .describe('endpoints from the CTC output alone: trailing blank frames (the default)');
export const VadEndpointing = z
  .strictObject({
    mode: z.literal('vad'),
    graph: z.string().min(1).describe('the graph (role "vad") that gives the speech probability of each frame; its states and constants are declared under graphs'),
    input: z.string().min(1).describe('the VAD graph input that takes [batch, contextSamples + frameSamples] float samples at audio.sampleRate'),
    output: z.string().min(1).describe('the VAD graph output holding the speech probability, [batch, 1]'),
    frameSamples: z.number().int().positive().max(16_000).describe('new samples per VAD frame (Silero VAD at 16 kHz: 512)'),
    contextSamples: z
      .number()
      .int()
      .nonnegative()
      .max(16_000)
      .default(0)
      .describe('samples of the previous frame prepended to each frame, zeros before the first (Silero VAD v5: 64)'),
    threshold: z.number().gt(0).lt(1).default(0.5).describe('a frame with this speech probability or more is speech'),
    negativeThreshold: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe('a frame below this is non-speech (default threshold - 0.15, as Silero VAD); frames in between continue what came before'),
    minSilenceMs: z.number().int().positive().max(10_000).default(500).describe('ms of non-speech after speech that end an utterance'),
    minSpeechMs: z.number().int().nonnegative().max(10_000).default(64).describe('ms of speech a run needs before it counts (shorter clicks are ignored)'),
    ...endpointLimits,
  })
  .describe('endpoints from a voice-activity graph of the manifest run beside the acoustic graph');
export const Endpointing = z.discriminatedUnion('mode', [CtcBlankEndpointing, VadEndpointing]);

/** An image fed to an encoder graph: resized to width x height RGB, then (pixel - mean) / std per channel, [3, height, width]. */
export const ImageSpec = z.strictObject({
  width: z.number().int().min(1).max(4096),
  height: z.number().int().min(1).max(4096),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([1, 1, 1]),
  /** Rows and columns of the encoder's region grid (attention over regions is row-major over it). */
  grid: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
});

/**
 * A clip fed to a video encoder graph: `frames` frames sampled from the input (an animated GIF or
 * WebP, or an ordered list of pictures), each resized to width x height RGB and normalised as an
 * image, [frames, 3, height, width].
 */
export const VideoSpec = z.strictObject({
  frames: z.number().int().min(1).max(256).describe('the number of frames the encoder takes: every clip is resampled to it'),
  width: z.number().int().min(1).max(1024),
  height: z.number().int().min(1).max(1024),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([1, 1, 1]),
  sampling: z
    .enum(['uniform-time', 'uniform-index'])
    .default('uniform-time')
    .describe(
      'how the frames are chosen: uniform-time takes the frame shown at each of `frames` evenly spaced instants of the clip (middle of each of `frames` equal spans of its duration, from the GIF/WebP frame delays; a list of pictures counts each as one unit of time); uniform-index the same over frame indices',
    ),
  minFrames: z.number().int().min(1).max(4096).default(2).describe('fewer input frames are refused (a still image is not a clip)'),
  maxFrames: z.number().int().min(1).max(4096).default(256).describe('more input frames are refused'),
});

export const CtcDecoding = z.strictObject({
  kind: z.literal('ctc'),
  /** The graph output holding [batch, frames, vocabulary] log-probabilities. */
  logProbs: z.string().min(1),
  /** JSON array of output symbols, index = label id. */
  alphabet: fileName,
  blank: z.number().int().nonnegative().default(0),
  /** CTC prefix beam search: width, whether it is the default decoder, and an optional word n-gram LM for shallow fusion. */
  beam: z
    .strictObject({
      width: z.number().int().min(1).max(256).default(8),
      /** Widest beam a live stream gets (hotwords, alternatives): its beam runs per frame as audio arrives, so it is kept cheaper than a file's. */
      liveWidth: z.number().int().min(1).max(256).default(16),
      default: z.boolean().default(false),
      /** Shallow fusion weights; `lookahead` and `oovPenalty` make it a soft lexicon constraint (see WordLmScorer). */
      lm: z
        .strictObject({ file: fileName, alpha: z.number().nonnegative(), beta: z.number(), lookahead: z.boolean().default(false), oovPenalty: z.number().nonnegative().default(0) })
        .optional(),
      /** Bonus per character of a hotword phrase (natural-log units) at boost 0; Google's `boost` adds to it. */
      hotwordBonus: z.number().nonnegative().default(1.5),
    })
    .optional(),
});

export const CrfDecoding = z.strictObject({
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
export const GenerationSpec = z.strictObject({
  vocab: fileName,
  /**
   * How text becomes source tokens: `spelled-words` (the vocabulary's words, unknown words spelled
   * out: chat) or `characters` (one token per character from `sourceVocab`: text2text models such as
   * g2p; a character outside it is refused).
   */
  tokenizer: z.enum(['spelled-words', 'characters']),
  /** The source side's vocabulary when it differs from the target's `vocab` (a JSON array of tokens, index = id). */
  sourceVocab: fileName.optional().describe("the source side's vocabulary when it is not vocab (characters tokenizer: one character per entry)"),
  /** Lower-case the text before it is tokenized (characters tokenizer). */
  lowercase: z.boolean().optional().describe('lower-case the text before the characters tokenizer reads it'),
  bos: z.number().int().nonnegative(),
  eos: z.number().int().nonnegative(),
  pad: z.number().int().nonnegative(),
  unk: z.number().int().nonnegative().default(3),
  /** Token that starts each turn of the conversation by role (chat models). */
  roles: z.strictObject({ user: z.number().int().nonnegative(), assistant: z.number().int().nonnegative() }).optional(),
  maxSourceTokens: z.number().int().positive().default(256),
  maxNewTokens: z.number().int().positive().default(64),
  encoder: z.strictObject({
    input: z.string().min(1),
    memory: z.array(z.string().min(1)).min(1),
    initialStates: z.record(z.string(), z.string()).default({}),
  }),
  decoder: z.strictObject({ prevToken: z.string().min(1), logits: z.string().min(1), attention: z.string().min(1).optional() }),
});

/**
 * A memory network answering questions about a story (spoken QA): its graph's tensor names, the
 * answer vocabulary, and how sentences become hashed word ids (server/core/qa/memory-features.ts).
 */
export const MemorySpec = z.strictObject({
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
  wordIds: z.strictObject({ buckets: z.number().int().min(2), n: z.number().int().positive(), maxNgrams: z.number().int().positive() }),
  /** The speech-recognition model that transcribes stories and spoken questions by default. */
  recognizer: z.string().min(1),
  /** Trailing silence (seconds) that ends a story sentence. */
  sentencePauseSeconds: z.number().positive().max(5).default(0.5),
  /**
   * Sentence boundaries within an utterance (a story read without pauses): the graph with role
   * `sentence_boundaries` reads character ids [1, T] (index in `alphabet` + 1, 0 for others) and gives
   * a logit per character that a sentence starts there (server/core/qa/sentence-boundaries.ts).
   */
  segmenter: z
    .strictObject({ chars: z.string().min(1), boundary: z.string().min(1), alphabet: z.string().min(1) })
    .optional()
    .describe('cuts each recognised story utterance into sentences with a character tagger (graph role sentence_boundaries)'),
});

/**
 * A many-to-one text classifier (text-classification): the graph's outputs holding the label scores
 * [batch, labels] (logits; the server applies the softmax) and, optionally, the attention pooling's
 * weight of each token [batch, tokens] and each token's additive share of the logits [batch, tokens,
 * labels]; the labels, index = output column.
 */
export const ClassificationSpec = z.strictObject({
  labels: z
    .array(z.string().min(1))
    .min(2)
    .refine((l) => new Set(l).size === l.length, 'labels must be distinct')
    .describe('the label of each output column'),
  logits: z.string().min(1).describe('the graph output holding [batch, labels] scores before the softmax'),
  attention: z.string().min(1).optional().describe("the graph output holding each token's attention weight [batch, tokens]"),
  tokenLogits: z
    .string()
    .min(1)
    .optional()
    .describe(
      "the graph output holding each token's additive share of each label's logit [batch, tokens, labels]: the part of the logits that is a sum over the tokens (the rest, logits minus that sum, comes from the text as a whole)",
    ),
});

/**
 * Visual question answering (visual-qa): one graph reads an image (as the `image` section says) and
 * a question's word ids and gives a score per answer, and optionally its attention over the image's
 * region grid (server/core/vqa/visual-qa.ts).
 */
export const VqaSpec = z.strictObject({
  image: z.string().min(1).describe('the graph input that takes images [batch, 3, height, width], normalised as the image section says'),
  question: z.string().min(1).describe('the graph input that takes word ids [batch, words] (int64): 1 + the index in vocab after its first entry, 0 pads the end'),
  answer: z.string().min(1).describe('the graph output holding a score per answer [batch, answers] (logits or log-probabilities; the server applies the softmax)'),
  attention: z.string().min(1).optional().describe("the graph output holding each attention hop's weights over the image grid [batch, hops, rows * cols], row-major"),
  vocab: fileName.describe('JSON array of question words, index = word id; entry 0 is the padding token'),
  answers: fileName.describe('JSON array of answers, index = output column'),
  maxQuestionWords: z.number().int().positive().max(256).describe('longer questions are refused'),
});

/** The tasks, from the one registry of task modules (server/tasks/registry.ts). */
export const TASKS = TASK_NAMES;
export type Task = TaskName;

/** The graph roles each task accepts (from its module); a `generic` model labels its graphs with any of its roles. */
export const TASK_ROLES = Object.fromEntries(TASK_MODULES.map((t) => [t.name, t.roles])) as Record<Task, readonly string[]>;

/** The sections of a manifest that describe the model's graphs and data: what a task module checks. */
const ManifestBodyShape = {
  graphs: z
    .record(z.string().regex(/^[a-z0-9_]+$/, 'graph names are lower-case letters, digits and "_"'), GraphSpec)
    .describe('the ONNX graphs by name; KServe addresses each as model.graph'),
  text: TextSpec.optional(),
  audio: AudioSpec.optional(),
  audioEmbedding: AudioEmbeddingSpec.optional().describe('the spoken-word encoder of an audio-embedding model'),
  endpointing: Endpointing.optional().describe('how a speech recognizer ends utterances (speech-recognition models): ctc-blank (default) or vad'),
  image: ImageSpec.optional(),
  video: VideoSpec.optional(),
  decoding: Decoding.optional(),
  generation: GenerationSpec.optional(),
  memory: MemorySpec.optional(),
  classification: ClassificationSpec.optional(),
  vqa: VqaSpec.optional().describe('the graph inputs, outputs and vocabularies of a visual-qa model'),
  instances: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe("executor threads for this model, each with a session of every graph (Triton's instance_group count); default: the server's --model-instances"),
  textLine: TextLineSpec.optional(),
};
const ManifestBody = z.strictObject(ManifestBodyShape);
export type ManifestBody = z.infer<typeof ManifestBody>;

/**
 * The files a manifest names: the fields that reference a file of the model folder or an `npm:`
 * file, and no other string (prose such as `description` is never a file). The model-files route
 * serves an `npm:` file only when it is one of these (server/runtime/model-file.ts); a new field of
 * file type (`fileName`) belongs here.
 */
export function manifestFiles(m: ManifestBody): string[] {
  const files: (string | undefined)[] = [
    ...Object.values(m.graphs).map((g) => g.file),
    m.text?.vocabulary,
    ...(m.decoding?.kind === 'ctc' ? [m.decoding.alphabet, m.decoding.beam?.lm?.file] : [m.decoding?.transitions]),
    m.generation?.vocab,
    m.generation?.sourceVocab,
    m.memory?.answers,
    m.vqa?.vocab,
    m.vqa?.answers,
    m.textLine?.ctc.characters,
  ];
  return files.filter((f): f is string => f !== undefined);
}

export const Manifest = z
  .strictObject({
    /** Editors read the JSON Schema from here (`"../../docs/manifest.schema.json"` for the bundled models); ignored by seqserve. */
    $schema: z.string().optional().describe('the JSON Schema of this file, for editors; ignored by seqserve'),
    name: name.describe('the model name: the folder name, lower case'),
    version: z
      .string({ error: 'versions are strings: write "1", not 1' })
      .regex(/^[0-9A-Za-z._-]+$/, 'letters, digits, ".", "_" and "-"')
      .default('1')
      .describe('the version KServe reports, a string ("1")'),
    task: z.enum(TASKS).describe('what the model does: the task endpoints it serves (generic: KServe only)'),
    description: z.string().default(''),
    knows: z
      .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'categories are lower-case words'), z.array(z.string().min(1)).min(1))
      .optional()
      .describe('what the model knows, by category (e.g. {"shapes": ["circle", ...], "colours": [...]}): shown by /v1/models and the demo so users know what to ask of it'),
    ...ManifestBodyShape,
  })
  .superRefine((m, ctx) => {
    const roles = TASK_ROLES[m.task];
    for (const [graphName, g] of Object.entries(m.graphs)) {
      if (roles.includes(g.role)) continue;
      const hint = closest(g.role, roles);
      ctx.addIssue({
        code: 'custom',
        path: ['graphs', graphName, 'role'],
        message: `"${g.role}" is not a role of a ${m.task} model${hint ? `; did you mean ${hint}?` : ''} (roles: ${roles.join(', ')})`,
      });
    }
    for (const issue of TASK_MODULES.find((t) => t.name === m.task)?.checkManifest(m) ?? []) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    if (Object.keys(m.graphs).length === 0) ctx.addIssue({ code: 'custom', path: ['graphs'], message: 'at least one graph is required' });
  });

export type Manifest = z.infer<typeof Manifest>;
export type GraphSpec = z.infer<typeof GraphSpec>;
export type StateSpec = z.infer<typeof StateSpec>;
export type TextSpec = z.infer<typeof TextSpec>;
export type AudioSpec = z.infer<typeof AudioSpec>;
export type AudioEmbeddingSpec = z.infer<typeof AudioEmbeddingSpec>;
export type ImageSpec = z.infer<typeof ImageSpec>;
export type VideoSpec = z.infer<typeof VideoSpec>;
export type Endpointing = z.infer<typeof Endpointing>;
export type VadEndpointing = z.infer<typeof VadEndpointing>;
export type MemorySpec = z.infer<typeof MemorySpec>;
export type VqaSpec = z.infer<typeof VqaSpec>;
export type GenerationSpec = z.infer<typeof GenerationSpec>;
export type ClassificationSpec = z.infer<typeof ClassificationSpec>;

/**
 * Parses a manifest; throws a SeqserveError whose message lists every problem as `field: reason`
 * (`graphs.step.states[0].batch_axis: unknown key; did you mean batchAxis?`).
 */
export function parseManifest(json: unknown): Manifest {
  const result = Manifest.safeParse(json);
  if (result.success) return result.data;
  throw new SeqserveError('failed_precondition', result.error.issues.flatMap((i) => describeIssue(i, json)).join('; '));
}

/**
 * Reads a manifest file's text (the server's repository, `seqserve check` and the browser client all
 * come here); every problem is prefixed with `file`.
 */
export function readManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SeqserveError('failed_precondition', `${file}: not valid JSON: ${(err as Error).message}`);
  }
  try {
    return parseManifest(json);
  } catch (err) {
    throw new SeqserveError('failed_precondition', `${file}: ${(err as Error).message}`);
  }
}

/** `graphs.tagger.states[0].batchAxis` */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

function describeIssue(issue: z.core.$ZodIssue, json: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    const known = objectKeysAt(Manifest, issue.path, json);
    return issue.keys.map((key) => {
      const hint = closest(key, known);
      return `${fieldPath([...issue.path, key])}: unknown key; ${hint ? `did you mean ${hint}?` : `known keys: ${known.join(', ')}`}`;
    });
  }
  if (issue.code === 'invalid_key' && issue.issues.length) return issue.issues.map((i) => `${fieldPath(issue.path)}: ${i.message}`);
  return [`${fieldPath(issue.path)}: ${issue.message}`];
}

/** The closest of `candidates` to `word` (case, "_" and "-" ignored), if close enough to be a typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => [...s.toLowerCase().replace(/[_-]/g, '')];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const [w, k] = [norm(word), norm(c)];
    const d = w.length >= 3 && k.length > w.length && k.slice(0, w.length).join('') === w.join('') ? 0.5 : editDistance(w, k); // "decoder" -> "decoder_step"
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= (word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3))) ? best : undefined;
}

/** Internals of a zod 4 schema that the walk below reads. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
}
const defOf = (s: z.ZodType | undefined): SchemaDef | undefined => s?._zod.def as SchemaDef | undefined;

/** The keys of the object schema at `path` (the input picks the branch of a discriminated union). */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  let s: z.ZodType | undefined = schema;
  let value = input;
  for (const key of [...path, undefined]) {
    // unwrap optional/default/pipe and pick the union branch the input is on
    for (let def = defOf(s); def; def = defOf(s)) {
      if (def.innerType) s = def.innerType;
      else if (def.type === 'pipe') s = def.in;
      else if (def.type === 'union' && def.options) {
        const tag = def.discriminator;
        const v = tag && value && typeof value === 'object' ? (value as Record<string, unknown>)[tag] : undefined;
        s = def.options.find((o) => tag !== undefined && defOf(defOf(o)?.shape?.[tag])?.values?.includes(v));
      } else break;
    }
    const def = defOf(s);
    if (key === undefined) return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    if (def?.type === 'object') s = def.shape?.[String(key)];
    else if (def?.type === 'record') s = def.valueType;
    else if (def?.type === 'array') s = def.element;
    else if (def?.type === 'tuple') s = def.items?.[Number(key)];
    else return [];
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return [];
}
