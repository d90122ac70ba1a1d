/**
 * One recognition stream: audio in at any sample rate → resampled to the model rate → fixed chunks
 * (with left context) → one acoustic step per chunk through a shared step function (the batch
 * scheduler on the server, a plain session in the browser) → CTC decoding with endpointing:
 * trailing CTC blanks by default, or a voice-activity graph run over the same audio (the manifest's
 * `endpointing`, vad-endpointer.ts). The recurrent state of the stream (and of its VAD) lives here
 * and is dropped with the stream. A graph with lookahead (`audio.lookaheadFrames` K) answers each
 * chunk K frames late: the stream drops its first K output frames and ends with silence until its
 * last audio frame is answered.
 */
import { Tensor } from 'onnxruntime-common';
import type { TensorMap } from '../graph-runner.ts';
import type { AudioSpec } from '../manifest.ts';
import { StreamingResampler } from '../audio/resampler.ts';
import type { NgramLm } from '../decode/ngram-lm.ts';
import type { LmFusionOptions, PrefixScorer } from '../decode/prefix-scorers.ts';
import { SeededRandom } from '../random.ts';
import { CtcStreamDecoder, type EndpointRules, type Transcript } from './ctc-stream-decoder.ts';
import { VadEndpointer, type VadModel } from './vad-endpointer.ts';

export interface AcousticModel {
  audio: AudioSpec;
  /** Graph output with [batch, frames, vocabulary] log-probabilities. */
  logProbs: string;
  alphabet: readonly string[];
  blank: number;
  /** Recurrent state tensors: input name, output name, zero-initialised shape for batch 1. */
  states: { input: string; output: string; shape: number[] }[];
  /** Runs one step of one stream (batch 1). */
  step: (feeds: TensorMap) => Promise<TensorMap>;
  /** Beam-search settings from the manifest: width, the live streams' cap (no cap when absent), whether the beam is the default decoder, hotword bonus. */
  beam: { width: number; liveWidth?: number; byDefault: boolean; hotwordBonus: number };
  /** Word n-gram LM for shallow fusion, if the model ships one. */
  lm?: { model: NgramLm } & LmFusionOptions;
  /**
   * The manifest's endpointing: the CTC-blank rules (default DEFAULT_ENDPOINT_RULES) or a VAD
   * graph, which then decides endpoints instead.
   */
  endpointing?: { rules?: EndpointRules; vad?: VadModel };
}

/** Standard deviation of the dither added to samples in [-1, 1]: one step of 16-bit audio. */
const DITHER = 1 / 32768;
const DITHER_SEED = 0x5eed;

/**
 * The dither a recognizer stream adds to its samples (at the model's rate), as a function fed the
 * audio in order: adds noise of one 16-bit step, as Kaldi's dither does. Digital silence (exact
 * zeros, as in padded or generated audio) gives log-mel features the model never heard, and it
 * hallucinates letters there; any real recording's noise floor is far above this. Seeded, so the
 * same audio gives the same transcript however it is chunked (and offline tools can match it).
 */
export function streamDither(): (samples: Float32Array) => Float32Array {
  const noise = new SeededRandom(DITHER_SEED);
  return (samples) => {
    const out = new Float32Array(samples.length); // never the caller's own array
    for (let i = 0; i < samples.length; i++) out[i] = samples[i] + DITHER * noise.gaussian();
    return out;
  };
}

export interface RecognizerOptions {
  sampleRate: number;
  /** Prefix beam width (0 = greedy) and the scorer it ranks with; see decodingFor(). */
  beamWidth?: number;
  scorer?: PrefixScorer;
  /** CTC-blank endpoint rules for this stream: given, they replace the model's endpointing (a VAD too). */
  rules?: EndpointRules;
  /** Each VAD frame's speech probability, in order (VAD endpointing only; measurements). */
  onVadProbability?: (p: number) => void;
}

export type RecognitionEvent = { type: 'partial'; transcript: Transcript } | { type: 'final'; transcript: Transcript; alternatives: { text: string; logProb: number }[] };

/**
 * One utterance laid out as a single run of the acoustic graph must see it to answer as a stream of it
 * does: zeros of left context, the audio dithered as a stream's, dithered silence to whole chunks —
 * for a graph with lookahead at least `lookaheadFrames` frames of it, whose first that many output
 * frames (`skipFrames`) answer nothing. `frames`: the utterance's own output frames after those.
 */
export function wholeUtterance(audio: Float32Array, spec: AudioSpec): { samples: Float32Array; frames: number; skipFrames: number } {
  const { chunkSamples, contextSamples, frameSamples, lookaheadFrames } = spec;
  const frames = Math.ceil(audio.length / frameSamples);
  const chunks = Math.ceil(Math.max(audio.length, (frames + lookaheadFrames) * frameSamples) / chunkSamples);
  const padded = new Float32Array(chunks * chunkSamples);
  padded.set(audio);
  const samples = new Float32Array(contextSamples + padded.length);
  samples.set(streamDither()(padded), contextSamples);
  return { samples, frames, skipFrames: lookaheadFrames };
}

export class RecognizerStream {
  private readonly resampler: StreamingResampler;
  private readonly decoder: CtcStreamDecoder;
  private pending = new Float32Array(0);
  private context: Float32Array;
  private state: TensorMap;
  private lastPartial = '';
  private readonly dither = streamDither();
  private readonly vad: VadEndpointer | undefined;
  /** Output frames the graph has returned, and audio frames fed and decoded (they differ by the graph's lookahead). */
  private framesOut = 0;
  private framesIn = 0;
  private framesDecoded = 0;

  constructor(
    private readonly model: AcousticModel,
    private readonly options: RecognizerOptions,
  ) {
    this.resampler = new StreamingResampler(options.sampleRate, model.audio.sampleRate);
    this.context = new Float32Array(model.audio.contextSamples);
    this.state = Object.fromEntries(model.states.map((s) => [s.input, new Tensor('float32', new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape)]));
    const vad = options.rules ? undefined : model.endpointing?.vad;
    this.vad = vad ? new VadEndpointer(vad, options.onVadProbability) : undefined;
    const rules = options.rules ?? model.endpointing?.rules;
    this.decoder = new CtcStreamDecoder({
      alphabet: model.alphabet,
      blank: model.blank,
      wordSeparator: ' ',
      frameSeconds: model.audio.frameSamples / model.audio.sampleRate,
      ...(rules ? { rules } : {}),
      beamWidth: options.beamWidth ?? 0,
      ...(options.scorer ? { scorer: options.scorer } : {}),
    });
  }

  /** Seconds of audio recognised so far. */
  get seconds(): number {
    return this.decoder.seconds;
  }

  /** Feeds samples (at the stream's sample rate); returns the events they produced. */
  async push(samples: Float32Array): Promise<RecognitionEvent[]> {
    return this.consume(this.dither(this.resampler.push(samples)), false);
  }

  /** Ends the stream: flushes buffered audio (padded with dithered silence to a whole chunk) and returns the last events. */
  async end(): Promise<RecognitionEvent[]> {
    return this.consume(this.dither(this.resampler.end()), true);
  }

  private async consume(samples: Float32Array, last: boolean): Promise<RecognitionEvent[]> {
    const merged = new Float32Array(this.pending.length + samples.length);
    merged.set(this.pending);
    merged.set(samples, this.pending.length);
    const { chunkSamples, frameSamples } = this.model.audio;
    const events: RecognitionEvent[] = [];
    let offset = 0;
    while (merged.length - offset >= chunkSamples || (last && merged.length - offset > 0)) {
      const available = Math.min(chunkSamples, merged.length - offset);
      const chunk = new Float32Array(chunkSamples);
      chunk.set(merged.subarray(offset, offset + available));
      // the last, short chunk is padded with dithered silence: exact zeros made the model write
      // letters, so that a few samples (or one) of silence were transcribed as "a"
      if (available < chunkSamples) chunk.set(this.dither(new Float32Array(chunkSamples - available)), available);
      offset += available;
      this.framesIn += Math.ceil(available / frameSamples);
      events.push(...(await this.step(chunk, available)));
    }
    this.pending = merged.slice(offset);
    // a graph with lookahead answers the last frames once it has heard that many frames after them: silence
    // (bounded, so a graph that returns fewer frames than it was fed cannot keep a stream here)
    const flushes = Math.ceil((this.model.audio.lookaheadFrames * frameSamples) / chunkSamples);
    for (let i = 0; last && i < flushes && this.framesDecoded < this.framesIn; i++) events.push(...(await this.step(this.dither(new Float32Array(chunkSamples)), 0)));
    if (last) {
      const alternatives = this.decoder.alternatives(5);
      const t = this.decoder.finalize();
      if (t.text) events.push({ type: 'final', transcript: t, alternatives });
    }
    return events;
  }

  /** The endpointer that decides this stream's endpoints. */
  get endpointing(): 'vad' | 'ctc-blank' {
    return this.vad ? 'vad' : 'ctc-blank';
  }

  private async step(chunk: Float32Array, validSamples: number): Promise<RecognitionEvent[]> {
    const { contextSamples, input } = this.model.audio;
    const samples = new Float32Array(contextSamples + chunk.length);
    samples.set(this.context);
    samples.set(chunk, contextSamples);
    this.context = samples.slice(samples.length - contextSamples);
    // the VAD reads the chunk's audio (not the padding of a last, short chunk) while the acoustic graph runs
    const [out] = await Promise.all([
      this.model.step({ [input]: new Tensor('float32', samples, [1, samples.length]), ...this.state }),
      this.vad?.push(chunk.subarray(0, validSamples)),
    ]);
    this.state = Object.fromEntries(this.model.states.map((s) => [s.input, out[s.output]]));
    const lp = out[this.model.logProbs];
    const V = lp.dims[2];
    // output frame g answers audio frame g - lookahead: decode those of audio frames fed and not yet
    // decoded. A chunk counts as the manifest's frames per chunk whatever the graph returned (a graph
    // returning more or fewer gets the chunk's own frames decoded, as before lookahead existed).
    const { lookaheadFrames: lookahead, chunkSamples, frameSamples } = this.model.audio;
    const from = Math.max(0, this.framesDecoded + lookahead - this.framesOut);
    const to = Math.min(lp.dims[1], this.framesIn + lookahead - this.framesOut);
    this.framesOut += chunkSamples / frameSamples;
    const frames = Math.max(0, to - from);
    this.framesDecoded += frames;
    const blankEndpoint = frames > 0 && this.decoder.accept((lp.data as Float32Array).subarray(from * V, to * V), frames);
    const endpoint = this.vad ? this.vad.endpoint(this.decoder.trailingSilence) : blankEndpoint;
    const events: RecognitionEvent[] = [];
    if (endpoint) {
      const alternatives = this.decoder.alternatives(5);
      const t = this.decoder.finalize();
      this.vad?.nextUtterance();
      this.lastPartial = '';
      if (t.text) events.push({ type: 'final', transcript: t, alternatives });
    } else {
      const p = this.decoder.partial();
      if (p.text !== this.lastPartial) {
        this.lastPartial = p.text;
        events.push({ type: 'partial', transcript: p });
      }
    }
    return events;
  }
}
