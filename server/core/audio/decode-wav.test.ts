import { describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { SeqserveError } from '../errors.ts';
import { audioWithin, decodeAudioWithin, decodeWav } from './decode-wav.ts';

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

describe('decodeAudioWithin', () => {
  const twoSeconds = () => wavBytes(1, 8000, '16', [new Array(16000).fill(0)]);

  it('decodes a WAV file within the limit; over it, refuses naming the field, the length and the limit', () => {
    expect(decodeAudioWithin(twoSeconds(), 'story', 2).samples).toHaveLength(16000);
    expect(() => decodeAudioWithin(twoSeconds(), 'story', 1.5)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'story', message: 'story: is 2.0 s long; the limit is 1.5 s' }),
    );
    expect(() => decodeAudioWithin(new Uint8Array(8), 'inputs.audio[1]', 10)).toThrow(/^inputs\.audio\[1\]: not a readable WAV file/);
  });

  it("takes the caller's own error for audio over the limit", () => {
    const audio = { samples: new Float32Array(24000), sampleRate: 16000 };
    expect(audioWithin(audio, 'audio.content', 1.5)).toBe(audio);
    expect(() => audioWithin(audio, 'audio.content', 1, (s) => new SeqserveError('out_of_range', `audio.content: ${s.toFixed(1)} s is over the limit of 1 s`))).toThrow(
      expect.objectContaining({ code: 'out_of_range', message: 'audio.content: 1.5 s is over the limit of 1 s' }),
    );
  });
});
