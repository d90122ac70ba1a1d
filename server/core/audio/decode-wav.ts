/** WAV files (PCM 8/16/24/32-bit or IEEE float, any rate and channel count) to mono float samples. */
import wavefile from 'wavefile';
import { downmix } from './pcm.ts';
import { invalidArgument, type SeqserveError } from '../errors.ts';

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

export function decodeWav(bytes: Uint8Array, field = 'file'): DecodedAudio {
  const wav = new wavefile.WaveFile();
  try {
    wav.fromBuffer(bytes);
  } catch (err) {
    throw invalidArgument(field, `not a readable WAV file (${(err as Error).message})`);
  }
  const fmt = wav.fmt as { audioFormat: number; numChannels: number; sampleRate: number; bitsPerSample: number; subformat?: number[] };
  const format = fmt.audioFormat === EXTENSIBLE ? (fmt.subformat?.[0] ?? PCM) : fmt.audioFormat;
  if (format !== PCM && format !== IEEE_FLOAT) throw invalidArgument(field, `WAV encoding ${fmt.audioFormat} is not supported (use PCM or IEEE float)`);
  if (fmt.sampleRate < 8000 || fmt.sampleRate > 48000) throw invalidArgument(field, `sample rate ${fmt.sampleRate} Hz is outside 8000-48000 Hz`);
  if (fmt.numChannels < 1) throw invalidArgument(field, 'WAV file has no channels');
  let raw: Float64Array;
  try {
    raw = wav.getSamples(true, Float64Array) as unknown as Float64Array;
  } catch (err) {
    throw invalidArgument(field, `WAV data cannot be read (${(err as Error).message})`);
  }
  const scale = format === IEEE_FLOAT ? 1 : 2 ** (fmt.bitsPerSample - 1);
  const offset = format === PCM && fmt.bitsPerSample === 8 ? 128 : 0; // 8-bit PCM is unsigned
  const samples = downmix(
    Float32Array.from(raw, (v) => (v - offset) / scale),
    fmt.numChannels,
  );
  if (samples.length === 0) throw invalidArgument(field, 'contains no audio');
  return { samples, sampleRate: fmt.sampleRate };
}

/**
 * `audio` if it lasts at most `maxSeconds` (the server's limits.maxAudioSeconds); else throws
 * `tooLong(seconds)`, by default an invalid_argument naming `field`: "<field>: is 700.0 s long; the
 * limit is 600 s".
 */
export function audioWithin(
  audio: DecodedAudio,
  field: string,
  maxSeconds: number,
  tooLong: (seconds: number) => SeqserveError = (seconds) => invalidArgument(field, `is ${seconds.toFixed(1)} s long; the limit is ${maxSeconds} s`),
): DecodedAudio {
  const seconds = audio.samples.length / audio.sampleRate;
  if (seconds > maxSeconds) throw tooLong(seconds);
  return audio;
}

/** A WAV file decoded (errors name `field`) and held to `maxSeconds` (see audioWithin). */
export function decodeAudioWithin(bytes: Uint8Array, field: string, maxSeconds: number): DecodedAudio {
  return audioWithin(decodeWav(bytes, field), field, maxSeconds);
}
