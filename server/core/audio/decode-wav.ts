/**
 * WAV files (PCM 8/16/24/32-bit or IEEE float 32/64, any rate and channel count; RIFF, big-endian
 * RIFX or RF64) to mono float samples.
 *
 * The file is read here rather than by a WAV library: the one used before (wavefile) parsed every
 * chunk it knew, trusting their counts — a 3 KB file whose `cue ` chunk claimed 268 million cue
 * points ran the server out of memory — and converted samples through JavaScript arrays at ~1 µs a
 * sample (a 500-second upload held the event loop for 7 s). Only the chunk headers are walked (each
 * other chunk is skipped by its size, unread), the `fmt ` and `data` chunks are read, the length is
 * held to the caller's limit from the header before any sample is converted, and samples are read
 * straight from the bytes.
 */
import { invalidArgument, type SeqserveError } from '../errors.ts';

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
}

/** The longest audio a caller accepts, and the error for longer audio (default: invalid_argument naming the field). */
export interface AudioLimit {
  maxSeconds: number;
  tooLong?: (seconds: number) => SeqserveError;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

interface WavFormat {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
}

/** The `fmt ` and `data` chunks of a RIFF/RIFX WAVE file, found by their headers alone. */
function wavChunks(bytes: Uint8Array, field: string): { fmt: DataView; data: Uint8Array; littleEndian: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.byteLength < 12 || tag(8) !== 'WAVE' || !['RIFF', 'RIFX', 'RF64'].includes(tag(0))) throw invalidArgument(field, 'not a readable WAV file (no RIFF WAVE header)');
  // RF64 (files over 4 GB) is RIFF with 64-bit sizes in a ds64 chunk: its data chunk's own size says 0xFFFFFFFF and runs to the end
  const littleEndian = tag(0) !== 'RIFX';
  let fmt: DataView | undefined;
  let data: Uint8Array | undefined;
  for (let at = 12; at + 8 <= bytes.byteLength && !(fmt && data);) {
    const id = tag(at);
    const size = view.getUint32(at + 4, littleEndian);
    const start = at + 8;
    // a streaming writer's data chunk may say 0xFFFFFFFF (or more than was sent): it runs to the end of the file
    const end = Math.min(start + size, bytes.byteLength);
    if (id === 'fmt ' && !fmt) fmt = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
    else if (id === 'data' && !data) data = bytes.subarray(start, end);
    at = start + size + (size & 1); // chunks are padded to an even size
  }
  if (!fmt || fmt.byteLength < 16) throw invalidArgument(field, 'not a readable WAV file (no complete fmt chunk)');
  if (!data) throw invalidArgument(field, 'not a readable WAV file (no data chunk)');
  return { fmt, data, littleEndian };
}

function formatOf(fmt: DataView, littleEndian: boolean): WavFormat {
  const tag = fmt.getUint16(0, littleEndian);
  // WAVE_FORMAT_EXTENSIBLE: the real format is the first field of the sub-format GUID (KSDATAFORMAT_SUBTYPE_PCM: 00000001-0000-0010-...)
  const format = tag === EXTENSIBLE && fmt.byteLength >= 28 ? fmt.getUint32(24, littleEndian) : tag;
  return { format, channels: fmt.getUint16(2, littleEndian), sampleRate: fmt.getUint32(4, littleEndian), bitsPerSample: fmt.getUint16(14, littleEndian) };
}

/** Reads one sample at a byte offset as a float in [-1, 1]. */
function sampleReader(f: WavFormat, view: DataView, littleEndian: boolean, field: string): { bytes: number; read: (at: number) => number } {
  const { format, bitsPerSample: bits } = f;
  if (format === IEEE_FLOAT) {
    if (bits === 32) return { bytes: 4, read: (at) => view.getFloat32(at, littleEndian) };
    if (bits === 64) return { bytes: 8, read: (at) => view.getFloat64(at, littleEndian) };
    throw invalidArgument(field, `${bits}-bit float WAV is not supported (use 32 or 64 bits)`);
  }
  // integer samples: in a container of whole bytes, left-justified (a 12-bit sample fills the top of 16 bits)
  if (bits === 0 || bits > 32) throw invalidArgument(field, `${bits}-bit PCM WAV is not supported (use 8, 16, 24 or 32 bits)`);
  const bytes = Math.ceil(bits / 8);
  if (bytes === 1) return { bytes, read: (at) => (view.getUint8(at) - 128) / 128 }; // 8-bit PCM is unsigned
  if (bytes === 2) return { bytes, read: (at) => view.getInt16(at, littleEndian) / 32768 };
  if (bytes === 4) return { bytes, read: (at) => view.getInt32(at, littleEndian) / 2147483648 };
  return {
    bytes,
    read: littleEndian
      ? (at) => ((view.getInt8(at + 2) << 16) | (view.getUint8(at + 1) << 8) | view.getUint8(at)) / 8388608
      : (at) => ((view.getInt8(at) << 16) | (view.getUint8(at + 1) << 8) | view.getUint8(at + 2)) / 8388608,
  };
}

/**
 * A WAV file's audio, channels averaged into one. Errors are invalid_argument naming `field`; with a
 * `limit`, audio longer than it is refused from the header, before it is read.
 */
export function decodeWav(bytes: Uint8Array, field = 'file', limit?: AudioLimit): DecodedAudio {
  const { fmt, data, littleEndian } = wavChunks(bytes, field);
  const f = formatOf(fmt, littleEndian);
  if (f.format !== PCM && f.format !== IEEE_FLOAT) throw invalidArgument(field, `WAV encoding ${f.format} is not supported (use PCM or IEEE float)`);
  if (f.sampleRate < 8000 || f.sampleRate > 48000) throw invalidArgument(field, `sample rate ${f.sampleRate} Hz is outside 8000-48000 Hz`);
  if (f.channels < 1) throw invalidArgument(field, 'WAV file has no channels');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const reader = sampleReader(f, view, littleEndian, field);
  const frameBytes = reader.bytes * f.channels;
  const frames = Math.floor(data.byteLength / frameBytes);
  if (frames === 0) throw invalidArgument(field, 'contains no audio');
  if (limit) heldTo(frames / f.sampleRate, field, limit);
  const samples = new Float32Array(frames);
  for (let i = 0, at = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++, at += reader.bytes) sum += reader.read(at);
    samples[i] = sum / f.channels;
  }
  return { samples, sampleRate: f.sampleRate };
}

function heldTo(seconds: number, field: string, { maxSeconds, tooLong }: AudioLimit): void {
  if (seconds > maxSeconds) throw tooLong ? tooLong(seconds) : invalidArgument(field, `is ${seconds.toFixed(1)} s long; the limit is ${maxSeconds} s`);
}

/**
 * `audio` if it lasts at most `maxSeconds` (the server's limits.maxAudioSeconds); else throws
 * `tooLong(seconds)`, by default an invalid_argument naming `field`: "<field>: is 700.0 s long; the
 * limit is 600 s".
 */
export function audioWithin(audio: DecodedAudio, field: string, maxSeconds: number, tooLong?: (seconds: number) => SeqserveError): DecodedAudio {
  heldTo(audio.samples.length / audio.sampleRate, field, { maxSeconds, tooLong });
  return audio;
}

/** A WAV file decoded (errors name `field`) and held to `maxSeconds` (see audioWithin), checked before its samples are read. */
export function decodeAudioWithin(bytes: Uint8Array, field: string, maxSeconds: number): DecodedAudio {
  return decodeWav(bytes, field, { maxSeconds });
}
