import { describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { SeqserveError } from '../errors.ts';
import { decodeWav } from './decode-wav.ts';

function wavBytes(channels: number, rate: number, bitDepth: string, samples: number[][]): Uint8Array {
  const w = new wavefile.WaveFile();
  w.fromScratch(channels, rate, bitDepth, channels === 1 ? samples[0] : samples);
  return w.toBuffer();
}

describe('decodeWav', () => {
  it('reads 16-bit PCM mono', () => {
    const out = decodeWav(wavBytes(1, 16000, '16', [[0, 16384, -16384, 32767]]));
    expect(out.sampleRate).toBe(16000);
    expect([...out.samples]).toEqual([0, 0.5, -0.5, 32767 / 32768]);
  });

  it('mixes stereo to mono and reads float and 8-bit files', () => {
    expect([
      ...decodeWav(
        wavBytes(2, 44100, '16', [
          [16384, 0],
          [0, -16384],
        ]),
      ).samples,
    ]).toEqual([0.25, -0.25]);
    expect([...decodeWav(wavBytes(1, 8000, '32f', [[0.25, -1]])).samples]).toEqual([0.25, -1]);
    expect([...decodeWav(wavBytes(1, 8000, '8', [[128, 192]])).samples]).toEqual([0, 0.5]);
  });

  it('rejects corrupt, truncated, empty and out-of-range files naming the field', () => {
    const good = wavBytes(1, 16000, '16', [[1, 2, 3]]);
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('not a wav at all'), /not a readable WAV file/],
      [good.slice(0, 20), /not a readable WAV file|cannot be read/],
      [wavBytes(1, 16000, '16', [[]]), /contains no audio/],
      [wavBytes(1, 96000, '16', [[1]]), /sample rate 96000 Hz/],
    ];
    for (const [bytes, message] of cases) {
      let err: unknown;
      try {
        decodeWav(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SeqserveError);
      expect((err as SeqserveError).field).toBe('file');
      expect((err as SeqserveError).message).toMatch(message);
    }
  });
});
