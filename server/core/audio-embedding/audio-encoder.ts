/**
 * Audio word2vec: a spoken word or phrase → one fixed-length vector, by the model's encoder graph
 * (samples + lengths → embedding; log-mel inside the graph). Audio is resampled to the model's rate,
 * its leading and trailing silence trimmed, clips of similar length run together in batches of at
 * most MAX_EMBED_BATCH rows zero-padded to the longest, and every vector is scaled to unit length so
 * that a dot product is the cosine. A document is cut into candidate segments (segmenter.ts), each
 * embedded. Runtime-agnostic: the server runs it in the model's executor thread, the page over
 * onnxruntime-web.
 */
import { Tensor } from 'onnxruntime-common';
import type { DecodedAudio } from '../audio/decode-wav.ts';
import { resample } from '../audio/resampler.ts';
import { invalidArgument, SeqserveError } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { AudioEmbeddingSpec, Manifest } from '../manifest.ts';
import { candidateSegments, trimSilence, type CandidateOptions, type SampleSpan } from './segmenter.ts';

/** Rows of one encoder run. */
export const MAX_EMBED_BATCH = 32;

/**
 * The most candidate segments one spoken document is cut into (each at most 1.2 s, so at most
 * 6,000 s of audio to embed): speech with pauses makes about one a second, speech without a pause
 * about 40 a second (sliding windows), so this is some two minutes of speech without a pause.
 */
export const MAX_DOCUMENT_SEGMENTS = 5000;

/** A vector of a stretch of audio, times in seconds. */
export interface EmbeddedAudio {
  start: number;
  end: number;
  embedding: Float32Array;
}

export class AudioEncoder {
  constructor(
    private readonly runner: GraphRunner,
    readonly spec: AudioEmbeddingSpec,
    readonly model = 'model',
  ) {}

  get dimensions(): number {
    return this.spec.dimensions;
  }

  /** The longest audio embedded as one vector, in samples at the model's rate. */
  get maxSamples(): number {
    return Math.round(this.spec.maxSeconds * this.spec.sampleRate);
  }

  /** The audio at the model's sample rate. */
  atModelRate(audio: DecodedAudio): Float32Array {
    return resample(audio.samples, audio.sampleRate, this.spec.sampleRate);
  }

  /** What `embedWords` refuses: audio longer than the model embeds as one vector (the error names `field`). */
  checkWordLength(audio: DecodedAudio, field: string): void {
    const seconds = audio.samples.length / audio.sampleRate;
    if (seconds > this.spec.maxSeconds) throw this.wordTooLong(seconds, field);
  }

  /** The refusal of a word `seconds` long, past the model's maxSeconds (names `field`). */
  wordTooLong(seconds: number, field: string): SeqserveError {
    return invalidArgument(
      field,
      `is ${seconds.toFixed(2)} s long; model ${this.model} embeds at most ${this.spec.maxSeconds} s as one vector (a word or short phrase; index longer recordings as documents of a collection)`,
    );
  }

  /** What `embedSegments` refuses: a document of more than MAX_DOCUMENT_SEGMENTS candidate segments (the error names `field`). */
  checkDocumentSegments(segments: number, field: string): void {
    if (segments > MAX_DOCUMENT_SEGMENTS)
      throw invalidArgument(
        field,
        `the document cuts into ${segments} candidate segments; at most ${MAX_DOCUMENT_SEGMENTS} are embedded per document (long speech without pauses is covered by sliding windows, about 40 a second): split the recording into shorter documents`,
      );
  }

  /**
   * A spoken document at the model's rate and its candidate segments (words, pairs of words, sliding
   * windows; segmenter.ts), refused past MAX_DOCUMENT_SEGMENTS before anything is embedded.
   */
  documentSegments(audio: DecodedAudio, field = 'file', options: CandidateOptions = {}): { samples: Float32Array; spans: SampleSpan[] } {
    const samples = this.atModelRate(audio);
    const spans = candidateSegments(samples, this.spec.sampleRate, options);
    this.checkDocumentSegments(spans.length, field);
    return { samples, spans };
  }

  /** Unit vectors of clips at the model's rate, in order; clips of similar length share a run. */
  async embedClips(clips: readonly Float32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
    const { minSamples, input, lengths, output, dimensions } = this.spec;
    const out: Float32Array[] = new Array<Float32Array>(clips.length);
    const order = clips.map((_, i) => i).sort((a, b) => clips[a].length - clips[b].length);
    for (let k = 0; k < order.length; k += MAX_EMBED_BATCH) {
      if (signal?.aborted) throw new SeqserveError('cancelled', 'the request was cancelled');
      const rows = order.slice(k, k + MAX_EMBED_BATCH);
      const width = Math.max(minSamples, ...rows.map((i) => Math.min(this.maxSamples, clips[i].length)));
      const data = new Float32Array(rows.length * width);
      const lens = new BigInt64Array(rows.length);
      rows.forEach((i, r) => {
        const clip = clips[i].length > this.maxSamples ? clips[i].subarray(0, this.maxSamples) : clips[i];
        data.set(clip, r * width);
        lens[r] = BigInt(Math.max(minSamples, clip.length));
      });
      const result = await this.runner.run({
        [input]: new Tensor('float32', data, [rows.length, width]),
        [lengths]: new Tensor('int64', lens, [rows.length]),
      });
      const y = result[output];
      if (!y || y.dims.length !== 2 || y.dims[0] !== rows.length || y.dims[1] !== dimensions)
        throw new SeqserveError('internal', `model ${this.model}: output ${output} is [${y?.dims.join(', ')}], expected [${rows.length}, ${dimensions}]`);
      const values = y.data as Float32Array;
      rows.forEach((i, r) => (out[i] = unit(values.slice(r * dimensions, (r + 1) * dimensions))));
    }
    return out;
  }

  /** Each recording (a word or short phrase) as one vector, its leading and trailing silence trimmed first. */
  async embedWords(audios: readonly DecodedAudio[], signal?: AbortSignal): Promise<EmbeddedAudio[]> {
    const rate = this.spec.sampleRate;
    const spans: SampleSpan[] = [];
    const clips = audios.map((a) => {
      const samples = this.atModelRate(a);
      const span = trimSilence(samples, rate);
      spans.push(span);
      return samples.subarray(span.start, span.end);
    });
    const vectors = await this.embedClips(clips, signal);
    return vectors.map((embedding, i) => ({ start: seconds(spans[i].start, rate), end: seconds(spans[i].end, rate), embedding }));
  }

  /** A spoken document's candidate segments (words, pairs of words, sliding windows), each with its vector. */
  embedDocument(audio: DecodedAudio, signal?: AbortSignal, options: CandidateOptions = {}): Promise<EmbeddedAudio[]> {
    const { samples, spans } = this.documentSegments(audio, 'file', options);
    return this.embedSegments(samples, spans, signal);
  }

  /** Spans of audio at the model's rate (a document's candidate segments, see documentSegments), each with its vector. */
  async embedSegments(samples: Float32Array, spans: readonly SampleSpan[], signal?: AbortSignal, field = 'file'): Promise<EmbeddedAudio[]> {
    this.checkDocumentSegments(spans.length, field);
    const rate = this.spec.sampleRate;
    const vectors = await this.embedClips(
      spans.map((s) => samples.subarray(s.start, s.end)),
      signal,
    );
    return vectors.map((embedding, i) => ({ start: seconds(spans[i].start, rate), end: seconds(spans[i].end, rate), embedding }));
  }
}

const seconds = (samples: number, rate: number) => Math.round((samples / rate) * 1000) / 1000;

/** The vector scaled to unit length (a zero vector stays zero). */
export function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** The encoder of an audio-embedding model; mistakes name the manifest field. */
export function loadAudioEncoder(manifest: Manifest, runners: Record<string, GraphRunner>): AudioEncoder {
  const spec = manifest.audioEmbedding;
  if (!spec) throw new SeqserveError('failed_precondition', 'manifest.json: audio-embedding models need the audioEmbedding section');
  const [graphName] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'encoder') ?? [];
  const runner = graphName === undefined ? undefined : runners[graphName];
  if (!runner) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "encoder"');
  for (const [key, name] of [
    ['input', spec.input],
    ['lengths', spec.lengths],
  ] as const)
    if (!runner.inputNames.includes(name))
      throw new SeqserveError('failed_precondition', `manifest.json: audioEmbedding.${key}: graph "${graphName}" has no input "${name}" (it has ${runner.inputNames.join(', ')})`);
  if (!runner.outputNames.includes(spec.output))
    throw new SeqserveError(
      'failed_precondition',
      `manifest.json: audioEmbedding.output: graph "${graphName}" has no output "${spec.output}" (it has ${runner.outputNames.join(', ')})`,
    );
  return new AudioEncoder(runner, spec, manifest.name);
}
