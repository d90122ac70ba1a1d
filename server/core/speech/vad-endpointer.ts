/**
 * Endpointing by a voice-activity graph (the manifest's `endpointing: {"mode": "vad"}`, e.g. Silero
 * VAD): the recognizer's audio, at the model rate, goes through the VAD graph in fixed frames (each
 * with the previous frame's last `contextSamples` in front, zeros before the first), with the
 * graph's recurrent state held here, one endpointer per stream. Speech and silence follow Silero's
 * own VADIterator: a frame at `threshold` or above is speech, one below `negativeThreshold` is
 * silence, frames in between continue what came before; a run of speech counts once it lasts
 * `minSpeechMs`, and `minSilenceMs` of silence after counted speech ends the utterance.
 * Runtime-agnostic: the step function is the server's batch scheduler or the page's session.
 */
import { Tensor } from 'onnxruntime-common';
import type { TensorMap } from '../graph-runner.ts';

export interface VadModel {
  /** Graph input taking [batch, contextSamples + frameSamples] float samples. */
  input: string;
  /** Graph output with the speech probability, [batch, 1]. */
  output: string;
  frameSamples: number;
  contextSamples: number;
  /** Recurrent state tensors: input name, output name, zero-initialised shape for batch 1. */
  states: { input: string; output: string; shape: number[] }[];
  /** Runs one frame of one stream (batch 1); the server batches concurrent streams' frames. */
  step: (feeds: TensorMap) => Promise<TensorMap>;
  /** Sample rate of the audio the VAD reads (the recognizer's model rate). */
  sampleRate: number;
  threshold: number;
  negativeThreshold: number;
  minSilenceMs: number;
  minSpeechMs: number;
  /** Seconds without counted speech that end an empty utterance. */
  silenceWithoutSpeech: number;
  /** Longest utterance, in seconds. */
  maxUtterance: number;
}

export class VadEndpointer {
  private buffer = new Float32Array(0);
  private context: Float32Array;
  private state: TensorMap;
  /** Samples the VAD has read since the stream began (whole frames). */
  private sample = 0;
  private utteranceStart = 0;
  /** Start of the current run of speech frames, -1 outside one. */
  private runStart = -1;
  /** Counted speech in the current utterance. */
  private spoke = false;
  /** Start of the silence after counted speech, -1 while speech goes on. */
  private silenceStart = -1;
  /** The silence after speech reached minSilenceMs at some frame (kept if speech resumes before endpoint() is asked). */
  private ended = false;
  private readonly minSpeech: number;
  private readonly minSilence: number;

  constructor(
    private readonly model: VadModel,
    /** Called with each frame's speech probability, in order (tests, measurements). */
    private readonly onProbability?: (p: number) => void,
  ) {
    this.context = new Float32Array(model.contextSamples);
    this.state = Object.fromEntries(model.states.map((s) => [s.input, new Tensor('float32', new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape)]));
    this.minSpeech = (model.minSpeechMs / 1000) * model.sampleRate;
    this.minSilence = (model.minSilenceMs / 1000) * model.sampleRate;
  }

  /** Seconds of audio the VAD has read. */
  get seconds(): number {
    return this.sample / this.model.sampleRate;
  }

  /** Whether counted speech was heard in the current utterance. */
  get heardSpeech(): boolean {
    return this.spoke;
  }

  /** Reads samples (at the model rate): runs the VAD over every whole frame they complete. */
  async push(samples: Float32Array): Promise<void> {
    const merged = new Float32Array(this.buffer.length + samples.length);
    merged.set(this.buffer);
    merged.set(samples, this.buffer.length);
    const { frameSamples, contextSamples, input, output } = this.model;
    let offset = 0;
    for (; merged.length - offset >= frameSamples; offset += frameSamples) {
      const x = new Float32Array(contextSamples + frameSamples);
      x.set(this.context);
      x.set(merged.subarray(offset, offset + frameSamples), contextSamples);
      this.context = x.slice(x.length - contextSamples);
      const out = await this.model.step({ [input]: new Tensor('float32', x, [1, x.length]), ...this.state });
      this.state = Object.fromEntries(this.model.states.map((s) => [s.input, out[s.output]]));
      const p = Number((out[output].data as Float32Array)[0]);
      this.onProbability?.(p);
      this.frame(Number.isFinite(p) ? p : 0);
    }
    this.buffer = merged.slice(offset);
  }

  private frame(p: number): void {
    const start = this.sample;
    this.sample += this.model.frameSamples;
    if (p >= this.model.threshold) {
      this.silenceStart = -1;
      if (this.runStart < 0) this.runStart = start;
      if (this.sample - this.runStart >= this.minSpeech) this.spoke = true;
    } else if (p < this.model.negativeThreshold) {
      this.runStart = -1;
      if (this.spoke && this.silenceStart < 0) this.silenceStart = start;
    }
    if (this.spoke && this.silenceStart >= 0 && this.sample - this.silenceStart >= this.minSilence) this.ended = true;
  }

  /**
   * Whether the current utterance has ended, as of the audio read so far: a silence after speech
   * that reached minSilenceMs at any frame counts, even if speech resumed later in the same push
   * (the recognizer asks once per chunk; a pause must not be missed for falling between two asks).
   * `recognizerSilence`: seconds since the recognizer last decoded a letter in this utterance.
   */
  endpoint(recognizerSilence = Infinity): boolean {
    const rate = this.model.sampleRate;
    if (this.ended || this.sample - this.utteranceStart >= this.model.maxUtterance * rate) return true;
    // nothing heard: the empty utterance ends after silenceWithoutSpeech, counted from the recognizer's
    // last letter if it decoded one since (a soft onset the VAD has not yet called speech is not cut off)
    const quiet = Math.min((this.sample - this.utteranceStart) / rate, recognizerSilence);
    return !this.spoke && quiet >= this.model.silenceWithoutSpeech;
  }

  /** Starts the next utterance here; the graph's state and the audio context go on (the audio does). */
  nextUtterance(): void {
    this.utteranceStart = this.sample;
    this.spoke = false;
    this.silenceStart = -1;
    this.ended = false;
    // a run of speech in progress carries over: speech that goes on (or resumed) counts for the next utterance
    if (this.runStart >= 0) {
      this.runStart = this.sample;
      if (this.minSpeech === 0) this.spoke = true;
    }
  }
}
