/**
 * Audio for in-page recognition: files decoded to mono float samples (WAV by the same decoder the
 * server uses, so both see identical samples; other formats by the browser's decoder), and live
 * microphone capture through an AudioWorklet (samples at the audio context's rate; the recognizer
 * resamples to the model rate with the core's streaming resampler).
 */
import { decodeWav, type DecodedAudio } from '../../server/core/audio/decode-wav.ts';

export type { DecodedAudio };

/** The rate other formats are decoded at (the browser resamples them to it). */
const FALLBACK_RATE = 16_000;

export async function decodeAudioFile(file: Blob): Promise<DecodedAudio> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const isRiff = bytes.length > 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF';
  if (isRiff) return decodeWav(bytes);
  const ctx = new OfflineAudioContext(1, 1, FALLBACK_RATE);
  let buffer: AudioBuffer;
  try {
    buffer = await ctx.decodeAudioData(bytes.buffer.slice(0));
  } catch {
    throw new Error(`${file instanceof File ? file.name : 'the file'} is not audio this browser can decode (use WAV, MP3, Ogg or WebM)`);
  }
  if (buffer.length === 0) throw new Error(`${file instanceof File ? file.name : 'the file'} contains no audio`); // as decodeWav says of an empty WAV
  const samples = new Float32Array(buffer.length);
  for (let ch = 0; ch < buffer.numberOfChannels; ch++) {
    const data = buffer.getChannelData(ch);
    for (let i = 0; i < data.length; i++) samples[i] += data[i] / buffer.numberOfChannels;
  }
  return { samples, sampleRate: buffer.sampleRate };
}

/** Posts blocks of ~100 ms of the first input channel to the main thread. */
const WORKLET_SOURCE = `
class SeqserveCapture extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = new Float32Array(Math.round(sampleRate / 10)); this.filled = 0; }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (input) {
      let at = 0;
      while (at < input.length) {
        const n = Math.min(input.length - at, this.buffer.length - this.filled);
        this.buffer.set(input.subarray(at, at + n), this.filled);
        this.filled += n; at += n;
        if (this.filled === this.buffer.length) { this.port.postMessage(this.buffer.slice()); this.filled = 0; }
      }
    }
    return true;
  }
}
registerProcessor('seqserve-capture', SeqserveCapture);
`;

export interface MicrophoneCapture {
  sampleRate: number;
  stop(): Promise<void>;
}

/** Explains why the microphone cannot be used, in words a person can act on. */
export function microphoneError(err: unknown): Error {
  const name = (err as { name?: string }).name;
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return new Error('microphone access was denied: allow the microphone for this site in the browser (or upload a file instead)');
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new Error('no microphone was found: connect one or upload a file instead');
  if (name === 'NotReadableError') return new Error('the microphone is in use by another application');
  if (typeof navigator !== 'undefined' && !navigator.mediaDevices) return new Error('this page cannot use the microphone (it needs https or localhost)');
  return new Error(`the microphone cannot be used: ${(err as Error).message ?? String(err)}`);
}

/** Starts capturing the microphone; `onSamples` gets mono blocks at `sampleRate` until stop(). */
export async function captureMicrophone(onSamples: (samples: Float32Array, sampleRate: number) => void): Promise<MicrophoneCapture> {
  let stream: MediaStream;
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('no mediaDevices'), { name: 'SecurityError' });
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  } catch (err) {
    throw microphoneError(err);
  }
  const ctx = new AudioContext();
  const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
  try {
    await ctx.audioWorklet.addModule(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'seqserve-capture', { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit' });
  node.port.onmessage = (ev: MessageEvent<Float32Array>) => onSamples(ev.data, ctx.sampleRate);
  source.connect(node);
  return {
    sampleRate: ctx.sampleRate,
    async stop() {
      source.disconnect();
      node.port.onmessage = null;
      for (const t of stream.getTracks()) t.stop();
      await ctx.close();
    },
  };
}
